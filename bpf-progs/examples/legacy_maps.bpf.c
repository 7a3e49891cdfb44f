// SPDX-License-Identifier: GPL-2.0
/* A map declared the pre-BTF way, in the "maps" section (libbpf 1.0
 * dropped the struct; its layout is declared here). */
#include "common.h"

struct legacy_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct legacy_map_def lengths SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 16,
};

SEC("socket")
int last_length(struct __sk_buff *skb)
{
	__u32 key = skb->len & 15;
	__u64 len = skb->len;

	bpf_map_update_elem(&lengths, &key, &len, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
