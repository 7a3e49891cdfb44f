// SPDX-License-Identifier: GPL-2.0
/* A ring buffer whose size is not a power of two: Linux refuses to
 * create it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 5000);
} events SEC(".maps");

SEC("socket")
int nothing(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
