// SPDX-License-Identifier: GPL-2.0
/* A strict-priority policy: one FIFO queue per priority (0-3, higher
 * priorities clamped to 3); a CPU takes the first task of the highest
 * non-empty queue. Higher priorities get shorter slices, so they come
 * back sooner. Lower priorities can starve: the kernel's watchdog ejects
 * the policy if one waits too long. */
#include "axiom.h"

#define LEVELS 4

struct queue {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 256);
	__uint(value_size, sizeof(__u32));
};

struct queue level0 SEC(".maps"), level1 SEC(".maps"), level2 SEC(".maps"), level3 SEC(".maps");

static void *queue_for(__u32 priority)
{
	switch (priority) {
	case 0: return &level0;
	case 1: return &level1;
	case 2: return &level2;
	default: return &level3;
	}
}

SEC("axiom/sched")
int priority(struct axiom_sched_ctx *ctx)
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
		bpf_map_push_elem(queue_for(ctx->priority), &task, 0);
		return 0;
	case AXIOM_DISPATCH:
		if (!bpf_map_pop_elem(&level3, &task)) {
			ctx->slice_ns = 2000000;
			return task;
		}
		if (!bpf_map_pop_elem(&level2, &task)) {
			ctx->slice_ns = 3000000;
			return task;
		}
		if (!bpf_map_pop_elem(&level1, &task)) {
			ctx->slice_ns = 4000000;
			return task;
		}
		if (!bpf_map_pop_elem(&level0, &task)) {
			ctx->slice_ns = 5000000;
			return task;
		}
		return 0;
	default:
		return 0;
	}
}

char LICENSE[] SEC("license") = "GPL";
