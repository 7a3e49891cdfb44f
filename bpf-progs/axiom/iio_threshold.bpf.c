// SPDX-License-Identifier: GPL-2.0
/* An IIO threshold filter: keeps only the scans where the accelerometer
 * moved, some axis more than THRESHOLD_MG away from rest (0 on x and y,
 * 1 g on z); the rest are dropped before they reach the buffer. */
#include "axiom.h"

#define THRESHOLD_MG 400

static __always_inline int beyond(__s32 v, __s32 rest)
{
	__s32 d = v - rest;

	return d > THRESHOLD_MG || d < -THRESHOLD_MG;
}

SEC("axiom/iio")
int threshold(struct axiom_iio_ctx *ctx)
{
	if (beyond(ctx->values[0], 0) || beyond(ctx->values[1], 0) ||
	    beyond(ctx->values[2], 1000))
		return AXIOM_IIO_KEEP;
	return AXIOM_IIO_DROP;
}

char LICENSE[] SEC("license") = "GPL";
