// SPDX-License-Identifier: GPL-2.0
/* An interrupt-storm filter: lets through at most one interrupt every
 * 4 ms on its line and drops the rest (the device is already
 * acknowledged), counting what it let through and what it dropped. */
#include "axiom.h"

#define MIN_GAP_NS 4000000

struct storm {
	__u64 last_handled_ns;
	__u64 handled;
	__u64 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct storm);
} storm SEC(".maps");

SEC("axiom/irq")
int drop_storm(struct axiom_irq_ctx *ctx)
{
	__u32 key = 0;
	struct storm *s = bpf_map_lookup_elem(&storm, &key);

	if (!s)
		return AXIOM_IRQ_HANDLE;
	if (ctx->entry_ns - s->last_handled_ns < MIN_GAP_NS) {
		__sync_fetch_and_add(&s->dropped, 1);
		return AXIOM_IRQ_DROP;
	}
	s->last_handled_ns = ctx->entry_ns;
	__sync_fetch_and_add(&s->handled, 1);
	return AXIOM_IRQ_HANDLE;
}

char LICENSE[] SEC("license") = "GPL";
