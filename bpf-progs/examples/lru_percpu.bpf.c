// SPDX-License-Identifier: GPL-2.0
/* An LRU hash of recent packet lengths and a per-CPU counter array. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} per_cpu SEC(".maps");

SEC("socket")
int remember(struct __sk_buff *skb)
{
	__u32 len = skb->len, zero = 0;
	__u64 now = bpf_ktime_get_ns(), *c;

	bpf_map_update_elem(&recent, &len, &now, BPF_ANY);
	c = bpf_map_lookup_elem(&per_cpu, &zero);
	if (c)
		*c += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
