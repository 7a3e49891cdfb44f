// SPDX-License-Identifier: GPL-2.0
/* Axiom's default scheduling policy: round robin. One FIFO queue for all
 * CPUs in a queue map; a task stays on the CPU it last ran on when it
 * wakes; every task gets a 5 ms slice. */
#include "axiom.h"

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 256);
	__uint(value_size, sizeof(__u32));
} runqueue SEC(".maps");

SEC("axiom/sched")
int round_robin(struct axiom_sched_ctx *ctx)
{
	__u32 task;

	switch (ctx->op) {
	case AXIOM_INIT:
		/* Only these are called (running, stopping, tick are not). */
		return AXIOM_OP(AXIOM_SELECT_CPU) | AXIOM_OP(AXIOM_ENQUEUE) | AXIOM_OP(AXIOM_DISPATCH);
	case AXIOM_SELECT_CPU:
		return ctx->prev_cpu < ctx->online ? ctx->prev_cpu : 0;
	case AXIOM_ENQUEUE:
		task = ctx->task;
		bpf_map_push_elem(&runqueue, &task, 0);
		return 0;
	case AXIOM_DISPATCH:
		if (bpf_map_pop_elem(&runqueue, &task))
			return 0;
		ctx->slice_ns = 5000000;
		return task;
	default:
		return 0;
	}
}

char LICENSE[] SEC("license") = "GPL";
