// SPDX-License-Identifier: GPL-2.0
/* A dispatcher that tail-calls one of two programs from a program array. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} stages SEC(".maps");

SEC("socket")
int dispatch(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &stages, skb->len & 1);
	return 1;
}

SEC("socket")
int stage_even(struct __sk_buff *skb)
{
	return 2;
}

SEC("socket")
int stage_odd(struct __sk_buff *skb)
{
	return 3;
}

char LICENSE[] SEC("license") = "GPL";
