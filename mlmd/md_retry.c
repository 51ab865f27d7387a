/*
 * md_retry.c: the backoff with which both backends of the metadata store
 * (md_sqlite.c, md_pg.c) retry a statement the database refused for a
 * lock another process holds (md_backend.h, "Locking model").
 */
#include <stdlib.h>
#include <time.h>

#include "formats/clock.h"
#include "mlmd/md_backend.h"

/* First and longest sleep (us). */
#define RETRY_FIRST_US 500
#define RETRY_MAX_US 50000

int cfx_md_retry_wait(unsigned *seed, uint64_t *deadline_ns,
                      unsigned *delay_us) {
    uint64_t now = cfx_clock_mono_ns();
    if (!*deadline_ns) {
        *deadline_ns = now + (uint64_t)MD_LOCK_WAIT_MS * 1000000u;
        *delay_us = RETRY_FIRST_US;
    } else if (now >= *deadline_ns) {
        return 0;
    }
    unsigned d = *delay_us / 2 + (unsigned)rand_r(seed) % (*delay_us / 2 + 1);
    struct timespec ts = {0, (long)d * 1000};
    nanosleep(&ts, NULL);
    if (*delay_us < RETRY_MAX_US)
        *delay_us = *delay_us * 2 > RETRY_MAX_US ? RETRY_MAX_US : *delay_us * 2;
    return 1;
}
