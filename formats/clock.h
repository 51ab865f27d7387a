/*
 * clock.h: the monotonic clock, for durations, deadlines and timings (step
 * durations, request latencies, server readiness waits).
 *
 * CLOCK_MONOTONIC never jumps with wall-clock changes, so differences of two
 * readings are elapsed time; a reading alone means nothing (its zero is an
 * unspecified point, usually boot). Never store one in an artifact.
 *
 * Reentrant; callable from any thread.
 */
#ifndef CFX_FORMATS_CLOCK_H
#define CFX_FORMATS_CLOCK_H

#include <stdint.h>

/* Monotonic time in nanoseconds. */
uint64_t cfx_clock_mono_ns(void);

/* Monotonic time in microseconds (nanoseconds truncated). */
uint64_t cfx_clock_mono_us(void);

/* Monotonic time in milliseconds (nanoseconds truncated). */
uint64_t cfx_clock_mono_ms(void);

/* Monotonic time in seconds, with the nanoseconds as the fraction. */
double cfx_clock_mono_s(void);

#endif
