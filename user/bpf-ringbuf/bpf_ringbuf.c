/* The BPF ring buffer as a libbpf-style reader uses it, through raw
 * system calls (no libbpf): the map mapped with Linux's layout (consumer
 * page read+write, producer page and data pages read-only, the data twice
 * in a row), epoll on the map's descriptor, and a round trip of 100,000
 * records that a socket filter produces with bpf_ringbuf_reserve/submit
 * and bpf_ringbuf_output, checked for loss, duplication and order. One
 * line per case ("bpf-ringbuf: <case>: <result>"), the same on Linux and
 * Axiom; the build tool compares them. Exit status: failed checks.
 *
 * `bpf-ringbuf wait`: pins an empty ring buffer at /sys/fs/bpf/ring-wait
 * and blocks in epoll_wait until a record arrives (the Axiom kernel's
 * test writes one), then prints it. */
#include <linux/bpf.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROGRAM "bpf-ringbuf"
#include "../include/bpf_check.h"

#define RING_SIZE (16 * 1024)
#define RECORDS 100000
#define BATCH 200
#define PAGE 4096
#define BUSY (1u << 31)
#define DISCARD (1u << 30)
#define MIX 0x2545F491

#define MOV_K(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV_X(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ALU_K(op, d, i) INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define LDX(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_DW, d, s, o, 0)
#define STX(d, s, o) INSN(BPF_STX | BPF_MEM | BPF_DW, d, s, o, 0)
#define ST_W(d, o, i) INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define JEQ_K(d, i, o) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JNE_K(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define LD_MAP(d, fd) INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)
#define CALL(n) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, n)
#define EXIT INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* The producer, one record per run: counter[0] is the next sequence
 * number, counter[1] counts records that found no room. Every fourth
 * record is 40 bytes (so records of two sizes meet the end of the ring),
 * every eighth goes through bpf_ringbuf_output from the stack; the rest
 * are 16 bytes, reserved and submitted. A record holds the sequence
 * number and the number mixed with MIX. */
static int load_producer(int ring, int counter)
{
	struct bpf_insn prog[64];
	int n = 0;
#define PUT(i) (prog[n++] = (i))
	PUT(ST_W(10, -4, 0));                        /* 0 */
	PUT(INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, counter)); /* 1 */
	PUT(INSN(0, 0, 0, 0, 0));                    /* 2 */
	PUT(MOV_X(2, 10));                           /* 3 */
	PUT(ALU_K(BPF_ADD, 2, -4));                  /* 4 */
	PUT(CALL(BPF_FUNC_map_lookup_elem));         /* 5 */
	int j_nocounter = n; PUT(JEQ_K(0, 0, 0));    /* 6 -> out */
	PUT(MOV_X(7, 0));                            /* 7: r7 = counters */
	PUT(LDX(8, 7, 0));                           /* 8: r8 = seq */
	PUT(MOV_X(9, 8));                            /* 9 */
	PUT(ALU_K(BPF_MUL, 9, MIX));                 /* 10: r9 = seq * MIX */
	PUT(MOV_X(1, 8));                            /* 11 */
	PUT(ALU_K(BPF_AND, 1, 7));                   /* 12 */
	int j_notout = n; PUT(JNE_K(1, 7, 0));       /* 13 -> reserve */
	PUT(STX(10, 8, -24));                        /* output: record on the stack */
	PUT(STX(10, 9, -16));
	PUT(INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, ring));
	PUT(INSN(0, 0, 0, 0, 0));
	PUT(MOV_X(2, 10));
	PUT(ALU_K(BPF_ADD, 2, -24));
	PUT(MOV_K(3, 16));
	PUT(MOV_K(4, 0));
	PUT(CALL(BPF_FUNC_ringbuf_output));
	int j_outok = n; PUT(JEQ_K(0, 0, 0));        /* -> next */
	int j_outlost = n; PUT(INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0)); /* -> lost */
	int reserve = n;
	PUT(MOV_X(1, 8));
	PUT(ALU_K(BPF_AND, 1, 3));
	int j_small = n; PUT(JNE_K(1, 0, 0));        /* -> small */
	PUT(INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, ring));
	PUT(INSN(0, 0, 0, 0, 0));
	PUT(MOV_K(2, 40));
	PUT(MOV_K(3, 0));
	PUT(CALL(BPF_FUNC_ringbuf_reserve));
	int j_biglost = n; PUT(JEQ_K(0, 0, 0));      /* -> lost */
	PUT(STX(0, 8, 0));
	PUT(STX(0, 9, 8));
	PUT(STX(0, 8, 16));
	PUT(STX(0, 9, 24));
	PUT(STX(0, 8, 32));
	int j_bigsubmit = n; PUT(INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0)); /* -> submit */
	int small = n;
	PUT(INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, ring));
	PUT(INSN(0, 0, 0, 0, 0));
	PUT(MOV_K(2, 16));
	PUT(MOV_K(3, 0));
	PUT(CALL(BPF_FUNC_ringbuf_reserve));
	int j_smalllost = n; PUT(JEQ_K(0, 0, 0));    /* -> lost */
	PUT(STX(0, 8, 0));
	PUT(STX(0, 9, 8));
	int submit = n;
	PUT(MOV_X(1, 0));
	PUT(MOV_K(2, 0));
	PUT(CALL(BPF_FUNC_ringbuf_submit));
	int next = n;
	PUT(ALU_K(BPF_ADD, 8, 1));
	PUT(STX(7, 8, 0));
	int j_done = n; PUT(INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0)); /* -> out */
	int lost = n;
	PUT(LDX(1, 7, 8));
	PUT(ALU_K(BPF_ADD, 1, 1));
	PUT(STX(7, 1, 8));
	PUT(ALU_K(BPF_ADD, 8, 1)); /* the number is spent either way */
	PUT(STX(7, 8, 0));
	int out = n;
	PUT(MOV_K(0, 0));
	PUT(EXIT);
#define JUMP(at, to) (prog[at].off = (to) - (at) - 1)
	JUMP(j_nocounter, out);
	JUMP(j_notout, reserve);
	JUMP(j_outok, next);
	JUMP(j_outlost, lost);
	JUMP(j_small, small);
	JUMP(j_biglost, lost);
	JUMP(j_bigsubmit, submit);
	JUMP(j_smalllost, lost);
	JUMP(j_done, out);

	static char log[65536];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (__u64)(unsigned long)prog;
	a.insn_cnt = n;
	a.license = (__u64)(unsigned long)"GPL";
	a.log_level = 1;
	a.log_size = sizeof(log);
	a.log_buf = (__u64)(unsigned long)log;
	long fd = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0)
		printf("%s\n", log);
	return fd;
}

static long run(int prog, __u32 repeat)
{
	unsigned char packet[64] = { [12] = 0x08 };
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = prog;
	a.test.data_in = (__u64)(unsigned long)packet;
	a.test.data_size_in = sizeof(packet);
	a.test.repeat = repeat;
	return sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
}

static long sys(long r)
{
	return r < 0 ? -errno : r;
}

/* A reader of the mapped ring, as libbpf's ring_buffer__consume reads. */
struct reader {
	__u64 *consumer;
	const __u64 *producer;
	const unsigned char *data;
	__u64 next_seq, records, bad;
};

static void consume(struct reader *r)
{
	__u64 cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
	__u64 prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
	while (cons < prod) {
		const unsigned char *hdr = r->data + (cons & (RING_SIZE - 1));
		__u32 word = __atomic_load_n((const __u32 *)hdr, __ATOMIC_ACQUIRE);
		if (word & BUSY)
			break;
		__u32 len = word & ~(BUSY | DISCARD);
		if (!(word & DISCARD)) {
			__u64 rec[5];
			memcpy(rec, hdr + 8, len <= 40 ? len : 40);
			__u64 seq = r->next_seq;
			__u32 want = (seq & 7) == 7 ? 16 : (seq & 3) == 0 ? 40 : 16;
			int ok = len == want && rec[0] == seq && rec[1] == seq * MIX;
			if (ok && len == 40)
				ok = rec[2] == seq && rec[3] == seq * MIX && rec[4] == seq;
			r->bad += !ok;
			r->records++;
			r->next_seq = rec[0] + 1;
		}
		cons += (len + 8 + 7) & ~7ull;
		__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
	}
}

static int wait_for_one(void)
{
	int ring = create(BPF_MAP_TYPE_RINGBUF, 0, 0, RING_SIZE);
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.pathname = (__u64)(unsigned long)"/sys/fs/bpf/ring-wait";
	a.bpf_fd = ring;
	expect("pin the ring", sys_bpf(BPF_OBJ_PIN, &a, sizeof(a)), 0);
	__u64 *cons = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
	const unsigned char *prod = mmap(NULL, PAGE + 2 * RING_SIZE, PROT_READ, MAP_SHARED, ring, PAGE);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 5 };
	expect("epoll_ctl", sys(epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev)), 0);
	printf(PROGRAM ": waiting\n");
	fflush(stdout);
	long n = sys(epoll_wait(ep, &ev, 1, -1));
	check("woken with the ring readable", n == 1 && ev.data.u64 == 5);
	const unsigned char *hdr = prod + PAGE + (*cons & (RING_SIZE - 1));
	__u32 len = *(const __u32 *)hdr & ~(BUSY | DISCARD);
	printf(PROGRAM ": record: %.*s\n", (int)(len < 64 ? len : 64), (const char *)hdr + 8);
	unlink("/sys/fs/bpf/ring-wait");
	printf(PROGRAM ": %d failed\n", failures);
	return failures;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "wait") == 0)
		return wait_for_one();

	expect("ring of 3 pages", create(BPF_MAP_TYPE_RINGBUF, 0, 0, 3 * PAGE), -EINVAL);
	expect("ring with a key", create(BPF_MAP_TYPE_RINGBUF, 4, 0, RING_SIZE), -EINVAL);
	int ring = create(BPF_MAP_TYPE_RINGBUF, 0, 0, RING_SIZE);
	expect("create ring of 16 KiB", ring, 0);
	int counter = create(BPF_MAP_TYPE_ARRAY, 4, 16, 1);
	int hash = create(BPF_MAP_TYPE_HASH, 4, 4, 4);

	/* The mappings libbpf makes, and the ones Linux refuses. */
	void *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ring, PAGE);
	expect("map the producer page writable", m == MAP_FAILED ? -errno : 0, -EPERM);
	m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
	expect("map two pages writable", m == MAP_FAILED ? -errno : 0, -EPERM);
	m = mmap(NULL, 2 * PAGE + 2 * RING_SIZE, PROT_READ, MAP_SHARED, ring, PAGE);
	expect("map past the data's second copy", m == MAP_FAILED ? -errno : 0, -EINVAL);
	m = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, ring, 0);
	expect("map private", m == MAP_FAILED ? -errno : 0, -EINVAL);
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, hash, 0);
	expect("map a hash map", m == MAP_FAILED ? -errno : 0, -524);
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, counter, 0);
	expect("map an array made without BPF_F_MMAPABLE", m == MAP_FAILED ? -errno : 0, -EINVAL);
	__u64 *cons = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
	expect("map the consumer page read+write", cons == MAP_FAILED ? -errno : 0, 0);
	const unsigned char *prod = mmap(NULL, PAGE + 2 * RING_SIZE, PROT_READ, MAP_SHARED, ring, PAGE);
	expect("map producer and data pages read-only", prod == MAP_FAILED ? -errno : 0, 0);
	if (cons == MAP_FAILED || prod == MAP_FAILED)
		return 1 + failures;
	expect("make the producer page writable", sys(mprotect((void *)prod, PAGE, PROT_READ | PROT_WRITE)), -EACCES);
	check("positions start at 0", *cons == 0 && *(const __u64 *)prod == 0);

	int prog = load_producer(ring, counter);
	expect("load the producer", prog, 0);

	int ep = epoll_create1(0);
	expect("epoll_create1", ep, 0);
	expect("epoll_create1 with bad flags", sys(epoll_create1(1)), -EINVAL);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0xfeed }, evs[4];
	expect("epoll_ctl add the ring", sys(epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev)), 0);
	expect("epoll_ctl add it again", sys(epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev)), -EEXIST);
	expect("epoll_ctl delete a stranger", sys(epoll_ctl(ep, EPOLL_CTL_DEL, counter, NULL)), -ENOENT);
	expect("epoll_ctl on itself", sys(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev)), -EINVAL);
	expect("epoll_ctl on a bad fd", sys(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev)), -EBADF);
	expect("epoll_wait with no room", sys(epoll_wait(ep, &ev, 0, 0)), -EINVAL);
	check("epoll_wait on an empty ring: none ready", sys(epoll_wait(ep, &ev, 1, 0)) == 0);
	check("epoll_wait 10 ms on an empty ring: none ready", sys(epoll_wait(ep, &ev, 1, 10)) == 0);

	/* One record: poll and epoll see it, the mapped header describes it. */
	expect("produce one record", run(prog, 1), 0);
	struct pollfd pfd = { .fd = ring, .events = POLLIN };
	long n = sys(poll(&pfd, 1, 0));
	check("poll sees it", n == 1 && (pfd.revents & POLLIN));
	n = sys(epoll_wait(ep, evs, 4, 1000));
	check("epoll_wait sees it with its data", n == 1 && evs[0].data.u64 == 0xfeed && (evs[0].events & EPOLLIN));
	__u64 p0 = __atomic_load_n((const __u64 *)prod, __ATOMIC_ACQUIRE);
	__u32 hdr0 = *(const __u32 *)(prod + PAGE);
	check("producer position is 48 (8-byte header, 40-byte record)", p0 == 48);
	check("its header says 40 bytes, committed", hdr0 == 40);
	struct reader r = { cons, (const __u64 *)prod, prod + PAGE, 0, 0, 0 };
	consume(&r);
	check("consumed it", r.records == 1 && r.bad == 0 && *cons == 48);
	check("the data pages are mapped twice",
	      memcmp(prod + PAGE, prod + PAGE + RING_SIZE, RING_SIZE) == 0);
	check("epoll_wait once it is read: none ready", sys(epoll_wait(ep, &ev, 1, 0)) == 0);

	/* The round trip. */
	__u64 produced = 1, wakeups = 0, batches = 0;
	while (produced < RECORDS) {
		__u32 batch = RECORDS - produced < BATCH ? RECORDS - produced : BATCH;
		if (run(prog, batch) < 0)
			break;
		produced += batch;
		batches++;
		n = sys(epoll_wait(ep, evs, 4, 1000));
		wakeups += n == 1 && evs[0].data.u64 == 0xfeed;
		consume(&r);
	}
	__u32 key = 0;
	__u64 counters[2] = { 0, 0 };
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = counter;
	a.key = (__u64)(unsigned long)&key;
	a.value = (__u64)(unsigned long)counters;
	sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a));
	printf(PROGRAM ": produced %llu records in %llu test runs, %llu found no room\n",
	       (unsigned long long)counters[0], (unsigned long long)batches + 1,
	       (unsigned long long)counters[1]);
	check("100000 records consumed, in order, none lost or duplicated",
	      r.records == RECORDS && r.bad == 0 && counters[0] == RECORDS && counters[1] == 0 &&
		      r.next_seq == RECORDS);
	check("epoll_wait reported every batch", wakeups == batches);
	check("consumer caught up with producer",
	      *cons == __atomic_load_n((const __u64 *)prod, __ATOMIC_ACQUIRE));

	/* A full ring: records find no room and are counted, not lost. */
	run(prog, 1000);
	sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a));
	check("a full ring refuses records", counters[1] > 0);
	expect("unmap", sys(munmap(cons, PAGE)), 0);
	expect("unmap the rest", sys(munmap((void *)prod, PAGE + 2 * RING_SIZE)), 0);
	close(ep);
	close(prog);
	close(ring);
	close(counter);
	close(hash);
	printf(PROGRAM ": %d failed\n", failures);
	return failures;
}
