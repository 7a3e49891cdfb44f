// SPDX-License-Identifier: GPL-2.0
/* Rate-limits its line: every interrupt masks the line for 10 ms. */
#include "axiom.h"

SEC("axiom/irq")
int rate_limit(struct axiom_irq_ctx *ctx)
{
	return AXIOM_IRQ_RATE_LIMIT;
}

char LICENSE[] SEC("license") = "GPL";
