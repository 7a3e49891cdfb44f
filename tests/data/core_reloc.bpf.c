// SPDX-License-Identifier: GPL-2.0
/* A field read through a CO-RE relocation (preserve_access_index): the
 * loader must name the relocation it cannot apply without target BTF. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_like {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

SEC("socket")
int read_tgid(struct __sk_buff *skb)
{
	struct task_like *t = (void *)(long)skb->cb[0];

	return t->tgid;
}

char LICENSE[] SEC("license") = "GPL";
