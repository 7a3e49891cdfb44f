// SPDX-License-Identifier: GPL-2.0
/* Defers every interrupt of its line to the kernel's irq-defer thread. */
#include "axiom.h"

SEC("axiom/irq")
int defer_all(struct axiom_irq_ctx *ctx)
{
	return AXIOM_IRQ_DEFER;
}

char LICENSE[] SEC("license") = "GPL";
