// SPDX-License-Identifier: GPL-2.0
/* Counts packets per Ethernet protocol in a hash map; drops runts. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u64);
} per_proto SEC(".maps");

SEC("xdp")
int count_protocols(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u64 one = 1, *n;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	proto = bpf_ntohs(eth->h_proto);
	n = bpf_map_lookup_elem(&per_proto, &proto);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&per_proto, &proto, &one, BPF_NOEXIST);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
