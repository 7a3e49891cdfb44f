// SPDX-License-Identifier: GPL-2.0
/* bpf-to-bpf calls: two non-inlined functions in .text. */
#include "common.h"

static __noinline __u32 mix(__u32 a, __u32 b)
{
	return (a * 31) ^ (b >> 3);
}

static __noinline __u32 fold(__u32 x)
{
	return mix(x, x + 1) + mix(x >> 1, 7);
}

SEC("socket")
int hash_len(struct __sk_buff *skb)
{
	return fold(skb->len) & 0xffff;
}

char LICENSE[] SEC("license") = "GPL";
