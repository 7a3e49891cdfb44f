// SPDX-License-Identifier: GPL-2.0
/* A CO-RE field read of the running kernel's task_struct: the offset of
 * `tgid` is relocated against the kernel's BTF at load time. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

SEC("kprobe/do_nanosleep")
int current_tgid(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	int tgid = 0;

	bpf_probe_read_kernel(&tgid, sizeof(tgid), &t->tgid);
	return tgid;
}

char LICENSE[] SEC("license") = "GPL";
