/*
 * fingerprint.cc: the extern "C" shim over libfarmhash's C++
 * util::Fingerprint64 (see fingerprint.h).
 */
#include "model/fingerprint.h"

#include <farmhash.h>

extern "C" uint64_t cfx_fingerprint64(const void *p, size_t n) {
    static const char empty[1] = {0};
    return util::Fingerprint64(p ? static_cast<const char *>(p) : empty, n);
}
