// SPDX-License-Identifier: GPL-2.0
/* A bounded loop over a map value: the verifier explores it to its end. */
#include "common.h"

#define SLOTS 16

struct table {
	__u32 weight[SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct table);
} weights SEC(".maps");

SEC("socket")
int weigh(struct __sk_buff *skb)
{
	__u32 key = 0, sum = 0;
	struct table *t = bpf_map_lookup_elem(&weights, &key);

	if (!t)
		return 0;
	for (int i = 0; i < SLOTS; i++)
		sum += t->weight[i] * (skb->len >> (i & 7));
	return sum;
}

char LICENSE[] SEC("license") = "GPL";
