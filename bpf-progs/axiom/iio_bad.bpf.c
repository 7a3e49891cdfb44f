// SPDX-License-Identifier: GPL-2.0
/* An IIO filter the verifier refuses: it rewrites the scan's timestamp,
 * a read-only field. Loading it must fail and leave the running filter
 * in place. */
#include "axiom.h"

SEC("axiom/iio")
int backdate(struct axiom_iio_ctx *ctx)
{
	ctx->timestamp_ns = 0;
	return AXIOM_IIO_KEEP;
}

char LICENSE[] SEC("license") = "GPL";
