/* The bpf() map commands and their errors, through the raw system call
 * (no libbpf), as a static program that runs unchanged on Linux and on
 * Axiom. Each case prints one line, "bpf-maps: <case>: <result>", and
 * checks the result Linux gives; the build tool runs it on both kernels
 * and compares the lines. Exit status: the number of failed checks. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROGRAM "bpf-maps"
#include "../include/bpf_check.h"

static long elem(int cmd, int fd, const void *key, void *value, __u64 flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = fd;
	a.key = (__u64)(unsigned long)key;
	a.value = (__u64)(unsigned long)value;
	a.flags = flags;
	return sys_bpf(cmd, &a, sizeof(a));
}

/* The possible CPUs, as libbpf counts them: /sys/devices/system/cpu/possible
 * ("0" or "0-N"); 0 if it cannot be read. */
static int possible_cpus(void)
{
	char text[64] = { 0 };
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	if (!f)
		return 0;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	int first = 0, last = 0;
	if (n == 0 || sscanf(text, "%d-%d", &first, &last) < 1)
		return 0;
	return (strchr(text, '-') ? last : first) + 1;
}

/* Per-CPU maps: from user space, a value per possible CPU, each at a
 * multiple of 8 bytes. */
static void per_cpu_checks(void)
{
	int cpus = possible_cpus();
	check("possible CPUs read from /sys/devices/system/cpu/possible", cpus > 0);
	if (cpus <= 0)
		return;
	__u32 k = 1;
	unsigned char in[8 * 64], out[8 * 64 + 8];
	memset(in, 0xee, sizeof(in));
	for (int c = 0; c < cpus && c < 64; c++)
		*(__u32 *)(in + 8 * c) = 100 + c;
	int types[] = { BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH };
	const char *names[] = { "per-CPU array", "per-CPU hash", "LRU per-CPU hash" };
	for (int t = 0; t < 3; t++) {
		char what[96];
		int fd = create(types[t], 4, 4, 4);
		snprintf(what, sizeof(what), "create %s", names[t]);
		expect(what, fd, 0);
		snprintf(what, sizeof(what), "%s update (a value per CPU)", names[t]);
		expect(what, elem(BPF_MAP_UPDATE_ELEM, fd, &k, in, BPF_ANY), 0);
		memset(out, 0x55, sizeof(out));
		long r = elem(BPF_MAP_LOOKUP_ELEM, fd, &k, out, 0);
		int same = r == 0;
		for (int c = 0; c < cpus && c < 64; c++)
			same &= *(__u32 *)(out + 8 * c) == (__u32)(100 + c);
		snprintf(what, sizeof(what), "%s lookup: every CPU's value", names[t]);
		check(what, same);
		snprintf(what, sizeof(what), "%s lookup writes 8 bytes per CPU, no more", names[t]);
		check(what, cpus > 64 || out[8 * cpus] == 0x55);
		if (t > 0) {
			snprintf(what, sizeof(what), "%s lookup and delete", names[t]);
			expect(what, elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, &k, out, 0), 0);
			snprintf(what, sizeof(what), "%s gone", names[t]);
			expect(what, elem(BPF_MAP_LOOKUP_ELEM, fd, &k, out, 0), -ENOENT);
		}
		close(fd);
	}
}

int main(void)
{
	__u32 k;
	__u64 v;
	unsigned char page[8192];

	int arr = create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
	expect("create array", arr, 0);
	k = 1, v = 42;
	expect("array update", elem(BPF_MAP_UPDATE_ELEM, arr, &k, &v, BPF_ANY), 0);
	v = 0;
	long r = elem(BPF_MAP_LOOKUP_ELEM, arr, &k, &v, 0);
	expect(v == 42 ? "array lookup (42)" : "array lookup (wrong value)", r, v == 42 ? 0 : -1000);
	k = 9;
	expect("array update out of range", elem(BPF_MAP_UPDATE_ELEM, arr, &k, &v, BPF_ANY), -E2BIG);
	k = 1;
	expect("array update NOEXIST", elem(BPF_MAP_UPDATE_ELEM, arr, &k, &v, BPF_NOEXIST), -EEXIST);
	expect("array update bad flags", elem(BPF_MAP_UPDATE_ELEM, arr, &k, &v, 99), -EINVAL);
	expect("array delete", elem(BPF_MAP_DELETE_ELEM, arr, &k, NULL, 0), -EINVAL);
	__u32 next = 77;
	r = elem(BPF_MAP_GET_NEXT_KEY, arr, NULL, &next, 0);
	expect(next == 0 ? "array first key (0)" : "array first key (wrong)", r, next == 0 ? 0 : -1000);
	k = 3;
	expect("array key after the last", elem(BPF_MAP_GET_NEXT_KEY, arr, &k, &next, 0), -ENOENT);
	expect("array lookup, value pointer bad", elem(BPF_MAP_LOOKUP_ELEM, arr, &k, (void *)8, 0), -EFAULT);

	int hash = create(BPF_MAP_TYPE_HASH, 4, 8, 2);
	expect("create hash", hash, 0);
	for (k = 1; k <= 2; k++) {
		v = k * 10;
		expect("hash insert", elem(BPF_MAP_UPDATE_ELEM, hash, &k, &v, BPF_NOEXIST), 0);
	}
	k = 3;
	expect("hash insert when full", elem(BPF_MAP_UPDATE_ELEM, hash, &k, &v, BPF_ANY), -E2BIG);
	k = 7;
	expect("hash update EXIST of a missing key", elem(BPF_MAP_UPDATE_ELEM, hash, &k, &v, BPF_EXIST), -ENOENT);
	k = 2, v = 0;
	r = elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, hash, &k, &v, 0);
	expect(v == 20 ? "hash lookup and delete (20)" : "hash lookup and delete (wrong)", r, v == 20 ? 0 : -1000);
	expect("hash delete of a deleted key", elem(BPF_MAP_DELETE_ELEM, hash, &k, NULL, 0), -ENOENT);
	expect("hash lookup of a deleted key", elem(BPF_MAP_LOOKUP_ELEM, hash, &k, &v, 0), -ENOENT);
	expect("array lookup and delete", elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, arr, &k, &v, 0), -524);

	expect("lookup on a closed descriptor", elem(BPF_MAP_LOOKUP_ELEM, 999, &k, &v, 0), -EBADF);
	expect("lookup on a non-BPF descriptor", elem(BPF_MAP_LOOKUP_ELEM, 1, &k, &v, 0), -EINVAL);

	memset(page, 0, sizeof(page));
	expect("attribute larger than a page", sys_bpf(BPF_MAP_CREATE, page, 4097), -E2BIG);
	union bpf_attr *a = (union bpf_attr *)page;
	a->map_type = BPF_MAP_TYPE_ARRAY, a->key_size = 4, a->value_size = 4, a->max_entries = 1;
	page[1000] = 1;
	expect("non-zero bytes past the attribute", sys_bpf(BPF_MAP_CREATE, page, 2000), -E2BIG);
	page[1000] = 0;
	int big = sys_bpf(BPF_MAP_CREATE, page, 2000);
	expect("zero bytes past the attribute", big, 0);
	union bpf_attr e;
	memset(&e, 0, sizeof(e));
	e.map_fd = arr;
	e.key = (__u64)(unsigned long)&k;
	e.value = (__u64)(unsigned long)&v;
	((unsigned char *)&e)[40] = 1;
	expect("non-zero bytes past the command's fields", sys_bpf(BPF_MAP_UPDATE_ELEM, &e, sizeof(e)), -EINVAL);
	expect("unknown command", sys_bpf(9999, &e, sizeof(e)), -EINVAL);

	expect("array with 8-byte keys", create(BPF_MAP_TYPE_ARRAY, 8, 8, 4), -EINVAL);
	expect("unknown map type", create(9999, 4, 4, 4), -EINVAL);
	expect("array without entries", create(BPF_MAP_TYPE_ARRAY, 4, 8, 0), -EINVAL);

	union bpf_attr f;
	memset(&f, 0, sizeof(f));
	f.map_fd = hash;
	expect("freeze", sys_bpf(BPF_MAP_FREEZE, &f, sizeof(f)), 0);
	expect("freeze again", sys_bpf(BPF_MAP_FREEZE, &f, sizeof(f)), -EPERM);
	k = 1;
	expect("update a frozen map", elem(BPF_MAP_UPDATE_ELEM, hash, &k, &v, BPF_ANY), -EPERM);
	expect("lookup in a frozen map", elem(BPF_MAP_LOOKUP_ELEM, hash, &k, &v, 0), 0);

	/* A queue and a stack: values without keys. */
	int q = create(BPF_MAP_TYPE_QUEUE, 0, 8, 2);
	int st = create(BPF_MAP_TYPE_STACK, 0, 8, 2);
	expect("create queue", q, 0);
	expect("create stack", st, 0);
	expect("queue with a key", create(BPF_MAP_TYPE_QUEUE, 4, 8, 2), -EINVAL);
	for (v = 1; v <= 2; v++) {
		expect("queue push", elem(BPF_MAP_UPDATE_ELEM, q, NULL, &v, BPF_ANY), 0);
		expect("stack push", elem(BPF_MAP_UPDATE_ELEM, st, NULL, &v, BPF_ANY), 0);
	}
	expect("queue push when full", elem(BPF_MAP_UPDATE_ELEM, q, NULL, &v, BPF_ANY), -E2BIG);
	v = 3;
	expect("queue push when full, BPF_EXIST", elem(BPF_MAP_UPDATE_ELEM, q, NULL, &v, BPF_EXIST), 0);
	v = 0;
	r = elem(BPF_MAP_LOOKUP_ELEM, q, NULL, &v, 0);
	expect(v == 2 ? "queue peek (2: 1 was dropped)" : "queue peek (wrong)", r, v == 2 ? 0 : -1000);
	r = elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, st, NULL, &v, 0);
	expect(v == 2 ? "stack pop (2)" : "stack pop (wrong)", r, v == 2 ? 0 : -1000);
	r = elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, st, NULL, &v, 0);
	expect(v == 1 ? "stack pop (1)" : "stack pop (wrong)", r, v == 1 ? 0 : -1000);
	expect("stack pop when empty", elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, st, NULL, &v, 0), -ENOENT);
	expect("queue delete", elem(BPF_MAP_DELETE_ELEM, q, NULL, NULL, 0), -EINVAL);
	expect("queue next key", elem(BPF_MAP_GET_NEXT_KEY, q, NULL, &v, 0), -EINVAL);
	close(q);
	close(st);

	struct bpf_map_info info;
	memset(&info, 0, sizeof(info));
	union bpf_attr g;
	memset(&g, 0, sizeof(g));
	g.info.bpf_fd = arr;
	g.info.info_len = sizeof(info);
	g.info.info = (__u64)(unsigned long)&info;
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &g, sizeof(g));
	int shape = info.type == BPF_MAP_TYPE_ARRAY && info.key_size == 4 && info.value_size == 8 &&
		    info.max_entries == 4 && info.id != 0;
	expect(shape ? "info (array, 4, 8, 4)" : "info (wrong)", r, shape ? 0 : -1000);

	union bpf_attr id;
	memset(&id, 0, sizeof(id));
	id.start_id = info.id - 1;
	r = sys_bpf(BPF_MAP_GET_NEXT_ID, &id, sizeof(id));
	expect(id.next_id == info.id ? "next id (the array's)" : "next id (another)", r, 0);
	memset(&id, 0, sizeof(id));
	id.map_id = info.id;
	int again = sys_bpf(BPF_MAP_GET_FD_BY_ID, &id, sizeof(id));
	expect("descriptor by id", again, 0);
	k = 1, v = 0;
	r = elem(BPF_MAP_LOOKUP_ELEM, again, &k, &v, 0);
	expect(v == 42 ? "lookup through it (42)" : "lookup through it (wrong)", r, v == 42 ? 0 : -1000);

	/* Pins in the BPF file system. */
	const char *dir = "/sys/fs/bpf/axiom-pin-test", *pin = "/sys/fs/bpf/axiom-pin-test/array";
	unlink(pin);
	rmdir(dir);
	expect("mkdir in the BPF file system", mkdir(dir, 0700) < 0 ? -errno : 0, 0);
	union bpf_attr o;
	memset(&o, 0, sizeof(o));
	o.pathname = (__u64)(unsigned long)pin;
	o.bpf_fd = arr;
	expect("pin the array", sys_bpf(BPF_OBJ_PIN, &o, sizeof(o)), 0);
	expect("pin it again", sys_bpf(BPF_OBJ_PIN, &o, sizeof(o)), -EEXIST);
	o.pathname = (__u64)(unsigned long)"/sys/fs/bpf/no-such-dir/array";
	expect("pin in a missing directory", sys_bpf(BPF_OBJ_PIN, &o, sizeof(o)), -ENOENT);
	o.bpf_fd = 999;
	o.pathname = (__u64)(unsigned long)"/sys/fs/bpf/axiom-pin-test/x";
	expect("pin a closed descriptor", sys_bpf(BPF_OBJ_PIN, &o, sizeof(o)), -EINVAL);
	memset(&o, 0, sizeof(o));
	o.pathname = (__u64)(unsigned long)pin;
	int pinned = sys_bpf(BPF_OBJ_GET, &o, sizeof(o));
	expect("get the pin", pinned, 0);
	k = 1, v = 0;
	r = elem(BPF_MAP_LOOKUP_ELEM, pinned, &k, &v, 0);
	expect(v == 42 ? "lookup through the pin (42)" : "lookup through the pin (wrong)", r, v == 42 ? 0 : -1000);
	expect("rmdir a directory holding a pin", rmdir(dir) < 0 ? -errno : 0, -ENOTEMPTY);
	expect("unlink the pin", unlink(pin) < 0 ? -errno : 0, 0);
	expect("get it after unlink", sys_bpf(BPF_OBJ_GET, &o, sizeof(o)), -ENOENT);
	expect("rmdir", rmdir(dir) < 0 ? -errno : 0, 0);
	close(pinned);

	close(arr);
	close(hash);
	close(big);
	close(again);
	per_cpu_checks();
	printf("bpf-maps: %d failed\n", failures);
	return failures;
}
