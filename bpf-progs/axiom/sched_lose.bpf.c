// SPDX-License-Identifier: GPL-2.0
/* A broken policy, for the watchdog's test: it forgets every task it is
 * given and never dispatches one. The kernel must eject it. */
#include "axiom.h"

SEC("axiom/sched")
int lose_tasks(struct axiom_sched_ctx *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
