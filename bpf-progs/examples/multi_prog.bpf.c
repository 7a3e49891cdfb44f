// SPDX-License-Identifier: GPL-2.0
/* Several programs in one object sharing a map and a subprogram. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __noinline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("socket")
int on_socket(struct __sk_buff *skb)
{
	bump(0);
	return 0;
}

SEC("xdp")
int on_xdp(struct xdp_md *ctx)
{
	bump(1);
	return XDP_PASS;
}

SEC("xdp")
int on_xdp_drop_odd(struct xdp_md *ctx)
{
	bump(1);
	return (ctx->rx_queue_index & 1) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
