/* What the bpf() test programs share: the raw system call, errno names,
 * one printed line per checked case, "<PROGRAM>: <case>: <result>",
 * counting the results that are not Linux's, an instruction builder and
 * map creation. Define PROGRAM first. */
#ifndef BPF_CHECK_H
#define BPF_CHECK_H

#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

/* bpf(cmd, attr, size): the result, or -errno. */
static inline long sys_bpf(int cmd, void *attr, unsigned int size)
{
	long r = syscall(__NR_bpf, cmd, attr, size);
	return r < 0 ? -errno : r;
}

static inline const char *name(long r)
{
	static char buf[32];
	switch (r) {
	case -EPERM: return "EPERM";
	case -ENOENT: return "ENOENT";
	case -E2BIG: return "E2BIG";
	case -EBADF: return "EBADF";
	case -ENOMEM: return "ENOMEM";
	case -EACCES: return "EACCES";
	case -EFAULT: return "EFAULT";
	case -EBUSY: return "EBUSY";
	case -EEXIST: return "EEXIST";
	case -EINVAL: return "EINVAL";
	case -ENOSPC: return "ENOSPC";
	case -ENOTEMPTY: return "ENOTEMPTY";
	case -ENOLINK: return "ENOLINK";
	case -524: return "ENOTSUPP";
	}
	if (r >= 0)
		return "ok";
	snprintf(buf, sizeof(buf), "errno %ld", -r);
	return buf;
}

/* One instruction. */
#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* BPF_MAP_CREATE with the four sizes: the descriptor, or -errno. */
static inline int create(__u32 type, __u32 key, __u32 value, __u32 max)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = key;
	a.value_size = value;
	a.max_entries = max;
	return sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
}

/* A program's id, from its info (0 if it has none). */
static inline __u32 prog_id(int fd)
{
	struct bpf_prog_info info;
	union bpf_attr a;
	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof(info);
	a.info.info = (__u64)(unsigned long)&info;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) == 0 ? info.id : 0;
}

/* A result: any success when `want` is not negative, else that errno. */
static inline void expect(const char *what, long r, long want)
{
	int ok = want >= 0 ? r >= 0 : r == want;
	printf(PROGRAM ": %s: %s%s\n", what, name(r), ok ? "" : " (UNEXPECTED)");
	failures += !ok;
}

/* A property that must hold. */
static inline void check(const char *what, int ok)
{
	printf(PROGRAM ": %s: %s\n", what, ok ? "yes" : "NO (UNEXPECTED)");
	failures += !ok;
}

#endif
