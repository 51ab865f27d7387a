/*
 * fingerprint.h: FarmHash Fingerprint64, the hash TensorFlow uses for
 * tf.strings.to_hash_bucket_fast and TFT uses to place out-of-vocabulary
 * tokens in OOV buckets (vocab_size + Fingerprint64(bytes) % num_oov_buckets).
 *
 * A C entry point over Debian's libfarmhash (whose header is C++). The
 * function is pure and reentrant.
 */
#ifndef CFX_MODEL_FINGERPRINT_H
#define CFX_MODEL_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fingerprint64 of the n bytes at p (p may be NULL when n == 0). Forever
 * fixed: the same bytes give the same value on every platform. */
uint64_t cfx_fingerprint64(const void *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif
