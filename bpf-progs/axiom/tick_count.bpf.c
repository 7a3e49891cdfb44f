// SPDX-License-Identifier: GPL-2.0
/* A periodic program on the timer tick: counts each CPU's ticks in a
 * per-CPU array and keeps the largest delay from the tick's interrupt
 * entry to this program (the kernel's own dispatch path). */
#include "axiom.h"

struct tick_stats {
	__u64 ticks;
	__u64 max_delay_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tick_stats);
} tick_stats SEC(".maps");

SEC("axiom/tick")
int count_ticks(struct axiom_tick_ctx *ctx)
{
	__u32 key = 0;
	struct tick_stats *s = bpf_map_lookup_elem(&tick_stats, &key);
	__u64 delay;

	if (!s)
		return 0;
	s->ticks++;
	delay = ctx->dispatch_ns - ctx->entry_ns;
	if (delay > s->max_delay_ns)
		s->max_delay_ns = delay;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
