// SPDX-License-Identifier: GPL-2.0
/* Global variables: a constant in .rodata, a counter in .data, a
 * zero-initialised total in .bss, and a tunable in a custom .rodata
 * section. */
#include "common.h"

const volatile __u32 threshold = 100;
const volatile __u32 scale SEC(".rodata.tunables") = 3;
__u64 seen = 7;
__u64 large;

SEC("socket")
int classify(struct __sk_buff *skb)
{
	seen++;
	if (skb->len > threshold) {
		large += 1;
		return skb->len * scale;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
