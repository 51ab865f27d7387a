/*
 * vec8.h: the 8-wide float vectors of the network's and the trainer's
 * kernels (model/network.c, train/trainer.c), and the function clones that
 * give them AVX2 on x86-64 machines that have it while the default build
 * targets any x86-64.
 *
 * V8_LOAD / V8_STORE are macros, not functions: passing 32-byte vectors by
 * value changes the ABI between the SSE and AVX clones. Unaligned access goes
 * through memcpy.
 *
 * No clones under GCC's ThreadSanitizer: the ifunc resolvers run before the
 * TSan runtime is initialised and crash the program at start.
 *
 * Header only; no state.
 */
#ifndef CFX_MODEL_VEC8_H
#define CFX_MODEL_VEC8_H

#include <stdint.h>
#include <string.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&         \
    !defined(__SANITIZE_THREAD__)
#define CFX_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CFX_CLONES
#endif

#define V8_LOAD(dst, p) memcpy(&(dst), (p), sizeof(v8f))
#define V8_STORE(p, v) memcpy((p), &(v), sizeof(v8f))
/* max(v, 0) lane by lane, in place. */
#define V8_RELU(v) ((v) = (v8f)((v8i)(v) & ((v) > (v8f){0})))

#endif
