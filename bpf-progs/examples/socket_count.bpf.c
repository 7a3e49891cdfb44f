// SPDX-License-Identifier: GPL-2.0
/* Counts packets and bytes seen by a socket filter in an array map. */
#include "common.h"

struct counters {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} totals SEC(".maps");

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct counters *c = bpf_map_lookup_elem(&totals, &key);

	if (!c)
		return 0;
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
