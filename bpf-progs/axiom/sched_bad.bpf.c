// SPDX-License-Identifier: GPL-2.0
/* A policy the verifier refuses (it writes a read-only context field):
 * loading it must fail with the verifier's log and leave the running
 * policy in place. */
#include "axiom.h"

SEC("axiom/sched")
int writes_task(struct axiom_sched_ctx *ctx)
{
	ctx->task = 7;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
