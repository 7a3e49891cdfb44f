/* bpf() program commands and their errors through the raw system call:
 * loads (with the verifier's log), refusals, test runs of socket filters
 * and XDP programs, a program reading a map's value and one calling a
 * helper, and program info and ids. Static; runs unchanged on Linux and
 * on Axiom, one line per case ("bpf-progs: <case>: <result>"); the build
 * tool compares the two. Exit status: the number of failed checks. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROGRAM "bpf-progs"
#include "../include/bpf_check.h"

static char log_buf[65536];


static long load(__u32 type, const struct bpf_insn *insns, __u32 cnt, __u32 level, __u32 size)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.insns = (__u64)(unsigned long)insns;
	a.insn_cnt = cnt;
	a.license = (__u64)(unsigned long)"GPL";
	a.log_level = level;
	a.log_size = size;
	a.log_buf = size ? (__u64)(unsigned long)log_buf : 0;
	memset(log_buf, 0, sizeof(log_buf));
	return sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

static long run(int fd, void *data, __u32 len, __u32 *retval, void *out, __u32 out_size)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = fd;
	a.test.data_in = (__u64)(unsigned long)data;
	a.test.data_size_in = len;
	a.test.data_out = (__u64)(unsigned long)out;
	a.test.data_size_out = out_size;
	a.test.repeat = 10;
	long r = sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
	*retval = a.test.retval;
	return r;
}

int main(void)
{
	unsigned char packet[64];
	__u32 retval;
	memset(packet, 0, sizeof(packet));
	packet[12] = 0x08; /* IPv4 */

	struct bpf_insn ret7[] = { INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) };
	int p7 = load(BPF_PROG_TYPE_SOCKET_FILTER, ret7, 2, 1, sizeof(log_buf));
	expect("load r0 = 7", p7, 0);
	check("its log has the statistics", strstr(log_buf, "processed 2 insns") != NULL);
	long r = run(p7, packet, sizeof(packet), &retval, NULL, 0);
	expect(retval == 7 ? "test run (retval 7)" : "test run (wrong retval)", r, retval == 7 ? 0 : -1000);
	expect("test run, packet shorter than Ethernet", run(p7, packet, 10, &retval, NULL, 0), -EINVAL);

	/* r0 = skb->len */
	struct bpf_insn len[] = { INSN(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 0, 0), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) };
	int pl = load(BPF_PROG_TYPE_SOCKET_FILTER, len, 2, 0, 0);
	expect("load r0 = skb->len", pl, 0);
	r = run(pl, packet, sizeof(packet), &retval, NULL, 0);
	expect(retval == 50 ? "test run (skb->len 50)" : "test run (wrong skb->len)", r, retval == 50 ? 0 : -1000);

	/* XDP_PASS, and the frame back */
	struct bpf_insn pass[] = { INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) };
	int px = load(BPF_PROG_TYPE_XDP, pass, 2, 0, 0);
	expect("load XDP_PASS", px, 0);
	unsigned char out[64];
	r = run(px, packet, sizeof(packet), &retval, out, sizeof(out));
	expect(retval == XDP_PASS ? "XDP test run (XDP_PASS)" : "XDP test run (wrong)", r, retval == XDP_PASS ? 0 : -1000);
	expect("XDP test run, output buffer too small", run(px, packet, sizeof(packet), &retval, out, 8), -ENOSPC);

	/* Refusals and the log */
	struct bpf_insn noret[] = { INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) };
	expect("exit without r0", load(BPF_PROG_TYPE_SOCKET_FILTER, noret, 1, 1, sizeof(log_buf)), -EACCES);
	check("the log says R0 !read_ok", strstr(log_buf, "R0 !read_ok") != NULL);
	expect("the same with an 8-byte log", load(BPF_PROG_TYPE_SOCKET_FILTER, noret, 1, 1, 8), -ENOSPC);
	expect("no instructions", load(BPF_PROG_TYPE_SOCKET_FILTER, ret7, 0, 0, 0), -E2BIG);
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (__u64)(unsigned long)ret7;
	a.insn_cnt = 2;
	a.license = (__u64)(unsigned long)"GPL";
	a.log_buf = (__u64)(unsigned long)log_buf;
	expect("log buffer without a size", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)), -EINVAL);
	a.log_buf = 0;
	a.prog_flags = 1u << 30;
	expect("unknown program flags", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)), -EINVAL);
	a.prog_flags = 0;
	a.insns = 8;
	expect("instructions at a bad address", sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)), -EFAULT);

	/* A map's value, read through a direct value pointer */
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	int map = sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
	expect("create array", map, 0);
	__u32 k = 0, v = 1234;
	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (__u64)(unsigned long)&k;
	a.value = (__u64)(unsigned long)&v;
	expect("store 1234", sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)), 0);
	struct bpf_insn value[] = {
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_VALUE, 0, map), INSN(0, 0, 0, 0, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 0, 0), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int pv = load(BPF_PROG_TYPE_SOCKET_FILTER, value, 4, 0, 0);
	expect("load a reader of the map's value", pv, 0);
	r = run(pv, packet, sizeof(packet), &retval, NULL, 0);
	expect(retval == 1234 ? "test run (1234)" : "test run (wrong value)", r, retval == 1234 ? 0 : -1000);
	struct bpf_insn badmap[] = {
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_VALUE, 0, 999), INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	expect("a map descriptor that is not open", load(BPF_PROG_TYPE_SOCKET_FILTER, badmap, 4, 0, 0), -EBADF);

	/* Map helpers: count packets in a hash map, keyed by EtherType. */
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 16;
	int counts = sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
	expect("create hash", counts, 0);
	struct bpf_insn count[] = {
		/* key = skb->protocol; */
		INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 16, 0),
		INSN(BPF_STX | BPF_MEM | BPF_W, 10, 2, -4, 0),
		/* v = lookup(&counts, &key) */
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, counts), INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3, 0),
		/* found: (*v)++ atomically */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD),
		INSN(BPF_JMP | BPF_JA, 0, 0, 9, 0),
		/* missing: update(&counts, &key, &one, BPF_NOEXIST) */
		INSN(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -16, 1),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, counts), INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -16),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, BPF_NOEXIST),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int pc = load(BPF_PROG_TYPE_SOCKET_FILTER, count, sizeof(count) / sizeof(count[0]), 1, sizeof(log_buf));
	expect("load a packet counter (map helpers)", pc, 0);
	if (pc < 0)
		printf("%s\n", log_buf);
	r = run(pc, packet, sizeof(packet), &retval, NULL, 0);
	expect("run it 10 times", r, 0);
	__u32 proto = 0x0008; /* skb->protocol holds the EtherType in network order */
	__u64 n = 0;
	memset(&a, 0, sizeof(a));
	a.map_fd = counts;
	a.key = (__u64)(unsigned long)&proto;
	a.value = (__u64)(unsigned long)&n;
	r = sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a));
	expect(n == 10 ? "the count (10)" : "the count (wrong)", r, n == 10 ? 0 : -1000);
	close(pc), close(counts);

	/* Queue helpers: push 7, pop it back. */
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_QUEUE;
	a.value_size = 8;
	a.max_entries = 4;
	int qm = sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
	expect("create queue", qm, 0);
	struct bpf_insn qprog[] = {
		INSN(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 7),
		INSN(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -16, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, qm), INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_push_elem),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, qm), INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -16),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_pop_elem),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 2, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 0, 10, -16, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 99),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int pq = load(BPF_PROG_TYPE_SOCKET_FILTER, qprog, sizeof(qprog) / sizeof(qprog[0]), 1, sizeof(log_buf));
	expect("load a queue pusher and popper", pq, 0);
	if (pq < 0)
		printf("%s\n", log_buf);
	r = run(pq, packet, sizeof(packet), &retval, NULL, 0);
	expect(retval == 7 ? "test run (7 popped)" : "test run (wrong pop)", r, retval == 7 ? 0 : -1000);
	close(pq), close(qm);

	/* A helper: bpf_ktime_get_ns() != 0 */
	struct bpf_insn helper[] = {
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 2, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int ph = load(BPF_PROG_TYPE_SOCKET_FILTER, helper, 6, 0, 0);
	expect("load a bpf_ktime_get_ns caller", ph, 0);
	r = run(ph, packet, sizeof(packet), &retval, NULL, 0);
	expect(retval == 1 ? "test run (the clock runs)" : "test run (clock 0)", r, retval == 1 ? 0 : -1000);

	/* Info and ids */
	struct bpf_prog_info info;
	__u32 ids[4];
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 4;
	info.map_ids = (__u64)(unsigned long)ids;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = pv;
	a.info.info_len = sizeof(info);
	a.info.info = (__u64)(unsigned long)&info;
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
	expect("program info", r, 0);
	check("its type, sizes and map", info.type == BPF_PROG_TYPE_SOCKET_FILTER && info.xlated_prog_len == 32 &&
		info.jited_prog_len > 0 && info.nr_map_ids == 1 && info.id != 0);
	/* The machine code, asked for with room for it. */
	unsigned char jited[4096];
	struct bpf_prog_info info2;
	memset(&info2, 0, sizeof(info2));
	memset(jited, 0, sizeof(jited));
	info2.jited_prog_len = sizeof(jited);
	info2.jited_prog_insns = (__u64)(unsigned long)jited;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = pv;
	a.info.info_len = sizeof(info2);
	a.info.info = (__u64)(unsigned long)&info2;
	r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
	int nonzero = 0;
	for (unsigned int i = 0; i < info2.jited_prog_len && i < sizeof(jited); i++)
		nonzero |= jited[i];
	check("its machine code is returned", r == 0 && info2.jited_prog_len > 0 && nonzero);
	printf("bpf-progs: tag of the map value reader: %02x%02x%02x%02x%02x%02x%02x%02x\n", info.tag[0], info.tag[1],
	       info.tag[2], info.tag[3], info.tag[4], info.tag[5], info.tag[6], info.tag[7]);
	memset(&a, 0, sizeof(a));
	a.start_id = info.id - 1;
	r = sys_bpf(BPF_PROG_GET_NEXT_ID, &a, sizeof(a));
	expect(a.next_id == info.id ? "next program id (its)" : "next program id (another)", r, 0);
	memset(&a, 0, sizeof(a));
	a.prog_id = info.id;
	int again = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
	expect("program descriptor by id", again, 0);
	r = run(again, packet, sizeof(packet), &retval, NULL, 0);
	expect(retval == 1234 ? "test run through it (1234)" : "test run through it (wrong)", r, retval == 1234 ? 0 : -1000);
	expect("test run of a map", run(map, packet, sizeof(packet), &retval, NULL, 0), -EINVAL);

	/* Tail calls through a program array that user space fills. */
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_PROG_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 4;
	int pa = sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
	expect("create a program array", pa, 0);
	struct bpf_insn ret42[] = { INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 42), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) };
	int stage = load(BPF_PROG_TYPE_SOCKET_FILTER, ret42, 2, 0, 0);
	struct bpf_insn dispatch[] = {
		INSN(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD, 0, pa),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 1),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int disp = load(BPF_PROG_TYPE_SOCKET_FILTER, dispatch, 6, 0, 0);
	expect("load a program tail-calling through it", disp, 0);
	expect("run it with slot 1 empty", run(disp, packet, 64, &retval, NULL, 0), 0);
	check("the tail call falls through: 7", retval == 7);
	__u32 slot = 1, entry = stage;
	memset(&a, 0, sizeof(a));
	a.map_fd = pa;
	a.key = (__u64)(unsigned long)&slot;
	a.value = (__u64)(unsigned long)&entry;
	expect("put a program in slot 1", sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)), 0);
	expect("run again", run(disp, packet, 64, &retval, NULL, 0), 0);
	check("the tail call reaches it: 42", retval == 42);
	__u32 id = 0;
	a.value = (__u64)(unsigned long)&id;
	expect("look up slot 1", sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)), 0);
	check("it gives the program's id", id != 0 && id == prog_id(stage));
	a.value = (__u64)(unsigned long)&entry;
	entry = px;
	expect("put an XDP program among socket filters", sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)), -EINVAL);
	entry = map;
	expect("put a map in it", sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)), -EINVAL);
	entry = stage;
	a.flags = BPF_NOEXIST;
	expect("put with BPF_NOEXIST", sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)), -EINVAL);
	a.flags = 0;
	slot = 9;
	expect("put in slot 9 of 4", sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)), -E2BIG);
	expect("delete with a value pointer", sys_bpf(BPF_MAP_DELETE_ELEM, &a, sizeof(a)), -EINVAL);
	a.value = 0;
	expect("delete slot 9", sys_bpf(BPF_MAP_DELETE_ELEM, &a, sizeof(a)), -E2BIG);
	slot = 1;
	expect("delete slot 1", sys_bpf(BPF_MAP_DELETE_ELEM, &a, sizeof(a)), 0);
	expect("delete it again", sys_bpf(BPF_MAP_DELETE_ELEM, &a, sizeof(a)), -ENOENT);
	a.value = (__u64)(unsigned long)&entry;
	expect("look up the empty slot", sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a)), -ENOENT);
	run(disp, packet, 64, &retval, NULL, 0);
	check("the tail call falls through again: 7", retval == 7);
	/* A cycle: the array holds the program that uses it. Closing both
	 * must free both (user space let go of the array). */
	slot = 0;
	entry = disp;
	expect("put the dispatching program in its own array", sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sizeof(a)), 0);
	close(disp);
	close(stage);
	close(pa);

	/* Links and attachments: the errors Linux and Axiom share (a
	 * socket filter has no link of Axiom's tick type, 0x1003, on either;
	 * user/bpf-hooks covers Axiom's hooks). */
	union bpf_attr l;
	memset(&l, 0, sizeof(l));
	l.link_create.prog_fd = 99;
	l.link_create.attach_type = 0x1003;
	expect("link create with a bad program fd", sys_bpf(BPF_LINK_CREATE, &l, sizeof(l)), -EBADF);
	l.link_create.prog_fd = p7;
	expect("link create of a socket filter to attach type 0x1003", sys_bpf(BPF_LINK_CREATE, &l, sizeof(l)), -EINVAL);
	memset(&l, 0, sizeof(l));
	l.link_update.link_fd = map;
	l.link_update.new_prog_fd = p7;
	expect("link update through a map fd", sys_bpf(BPF_LINK_UPDATE, &l, sizeof(l)), -EINVAL);
	memset(&l, 0, sizeof(l));
	l.link_detach.link_fd = 99;
	expect("link detach of a bad fd", sys_bpf(BPF_LINK_DETACH, &l, sizeof(l)), -EBADF);
	memset(&l, 0, sizeof(l));
	l.link_id = 0x7fffffff;
	expect("link by an unknown id", sys_bpf(BPF_LINK_GET_FD_BY_ID, &l, sizeof(l)), -ENOENT);

	close(p7), close(pl), close(px), close(pv), close(ph), close(again), close(map);
	printf("bpf-progs: %d failed\n", failures);
	return failures;
}
