// SPDX-License-Identifier: GPL-2.0
/* An IIO threshold filter: keeps only the scans where the accelerometer
 * felt more than gravity alone, whichever way it is mounted: the
 * magnitude of (x, y, z) more than THRESHOLD_MG away from 1 g (a knock,
 * a jump's landing, a fall). The rest are dropped before they reach the
 * buffer. */
#include "axiom.h"

#define GRAVITY_MG 1000
#define THRESHOLD_MG 400

SEC("axiom/iio")
int threshold(struct axiom_iio_ctx *ctx)
{
	__s64 x = ctx->values[0], y = ctx->values[1], z = ctx->values[2];
	__s64 squared = x * x + y * y + z * z;
	__s64 low = GRAVITY_MG - THRESHOLD_MG, high = GRAVITY_MG + THRESHOLD_MG;

	if (squared > high * high || squared < low * low)
		return AXIOM_IIO_KEEP;
	return AXIOM_IIO_DROP;
}

char LICENSE[] SEC("license") = "GPL";
