// SPDX-License-Identifier: GPL-2.0
/* Sends one event per packet (length, time) through a ring buffer. */
#include "common.h"

struct event {
	__u64 time_ns;
	__u32 len;
	__u32 ifindex;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("socket")
int report_packet(struct __sk_buff *skb)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->time_ns = bpf_ktime_get_ns();
	e->len = skb->len;
	e->ifindex = skb->ifindex;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
