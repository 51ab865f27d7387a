/*
 * clock.c: the monotonic clock (see clock.h). One reading per call; the
 * conversions truncate so that the _ns, _us and _ms views of one reading
 * agree.
 */
#include "formats/clock.h"

#include <time.h>

static struct timespec mono(void) {
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

uint64_t cfx_clock_mono_ns(void) {
    struct timespec ts = mono();
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cfx_clock_mono_us(void) {
    struct timespec ts = mono();
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t cfx_clock_mono_ms(void) {
    struct timespec ts = mono();
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double cfx_clock_mono_s(void) {
    struct timespec ts = mono();
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
