// SPDX-License-Identifier: GPL-2.0
/* Dereferences a map lookup without checking it for NULL: every verifier
 * must refuse it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} table SEC(".maps");

SEC("socket")
int unchecked(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&table, &key);

	return *v;
}

char LICENSE[] SEC("license") = "GPL";
