/* Axiom's hooks through bpf(): a timer-tick program (Axiom's program
 * type 0x1003, attach type 0x1003) attached by BPF_LINK_CREATE and by
 * BPF_PROG_ATTACH, replaced live, pinned, detached; it counts ticks in an
 * array map and sends a ring-buffer record per tick, which this process
 * reads blocked in epoll_wait (woken from the tick's interrupt handler).
 * Then a socket filter fills a huge hash map from inside the kernel until
 * the kernel's memory for maps runs out: the insert must fail with
 * ENOMEM, the kernel must go on, and the memory must come back when the
 * map goes. Last, the IIO device's buffer read through
 * /dev/iio:device0 in Linux's scan layout, and its sysfs attributes.
 * Axiom only: Linux has no such program type (its load answers EINVAL).
 * One line per case ("bpf-hooks: <case>: <result>"); exit status: the
 * number of failed checks. */
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "bpf-hooks"
#include "../include/bpf_check.h"

#define AXIOM_TICK 0x1003
#define LINK_TYPE_AXIOM_HOOK 0x1000
#define RING_SIZE 4096
#define PAGE 4096


static char log_buf[16384];

/* The IIO accelerometer's buffer: whole 24-byte scans (four le:s32
 * values, then the le:s64 timestamp), 10 ms apart; a read smaller than
 * a scan is refused; the sysfs attributes describe the layout. */
static void iio(void)
{
	char text[64] = { 0 };
	int fd = open("/sys/bus/iio/devices/iio:device0/name", O_RDONLY);
	long n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

	check("the IIO device is named axiom-accel", n > 0 && strcmp(text, "axiom-accel\n") == 0);
	close(fd);
	memset(text, 0, sizeof(text));
	fd = open("/sys/bus/iio/devices/iio:device0/scan_elements/in_accel_z_type", O_RDONLY);
	n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	check("its z channel is le:s32/32>>0", n > 0 && strcmp(text, "le:s32/32>>0\n") == 0);
	close(fd);

	fd = open("/dev/iio:device0", O_RDONLY);
	check("/dev/iio:device0 opens", fd >= 0);
	unsigned char scans[24 * 8];
	expect("a read smaller than a scan", read(fd, scans, 10) < 0 ? -errno : 0, -EINVAL);
	/* What waited since boot first (512 scans at most), then fresh ones. */
	static unsigned char backlog[24 * 512];
	n = read(fd, backlog, sizeof(backlog));
	check("the backlog reads as whole scans", n > 0 && n % 24 == 0);
	int got = 0, whole = 1, ordered = 1, gravity = 1;
	__s64 first = 0, last = 0;
	while (got < 20) {
		n = read(fd, scans, sizeof(scans));
		if (n <= 0 || n % 24) {
			whole = 0;
			break;
		}
		for (long i = 0; i < n; i += 24) {
			__s32 z;
			__s64 ts;

			memcpy(&z, scans + i + 8, 4);
			memcpy(&ts, scans + i + 16, 8);
			if (last && ts <= last)
				ordered = 0;
			if (!first)
				first = ts;
			if (z < 900 || z > 1100)
				gravity = 0;
			last = ts;
			got++;
		}
	}
	check("reads return whole scans", whole && got >= 20);
	/* On average: one gap stretches when a loaded host delays a tick
	 * and the next shrinks as the ticks catch up. */
	__s64 mean = got > 1 ? (last - first) / (got - 1) : 0;
	check("the scans are in time order", ordered);
	check("the scans are 10 ms apart on average (100 Hz)",
	      mean >= 5000000 && mean <= 20000000);
	check("z reads about 1 g (1000 milli-g)", gravity);
	close(fd);
}

static long load(__u32 type, struct bpf_insn *p, __u32 n)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = type;
	a.insns = (__u64)(unsigned long)p;
	a.insn_cnt = n;
	a.license = (__u64)(unsigned long)"GPL";
	a.log_level = 1;
	a.log_size = sizeof(log_buf);
	a.log_buf = (__u64)(unsigned long)log_buf;
	log_buf[0] = 0;
	return sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

/* The tick program `tag` (0 or 1): adds one to counts[tag] and sends
 * {ctx->tick, ctx->cpu, tag} to the ring buffer. */
static long load_counter(int counts, int ring, int tag)
{
	struct bpf_insn p[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, tag),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, counts),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 14, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 6, 16, 0), /* ctx->tick */
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -24, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, 1, 6, 24, 0), /* ctx->cpu */
		INSN(BPF_STX | BPF_MEM | BPF_W, 10, 1, -16, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -12, tag),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, ring),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -24),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 16),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	return load(AXIOM_TICK, p, sizeof(p) / sizeof(p[0]));
}

static __u64 count(int counts, __u32 key)
{
	__u64 v = 0;
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = counts;
	a.key = (__u64)(unsigned long)&key;
	a.value = (__u64)(unsigned long)&v;
	sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a));
	return v;
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&t, NULL);
}

static long link_create(int prog, __u32 attach, __u32 target, __u32 flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = prog;
	a.link_create.target_fd = target;
	a.link_create.attach_type = attach;
	a.link_create.flags = flags;
	return sys_bpf(BPF_LINK_CREATE, &a, sizeof(a));
}

static long link_update(int link, int prog, __u32 flags, int old)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.link_update.link_fd = link;
	a.link_update.new_prog_fd = prog;
	a.link_update.flags = flags;
	a.link_update.old_prog_fd = old;
	return sys_bpf(BPF_LINK_UPDATE, &a, sizeof(a));
}

static long prog_attach(int cmd, int prog, __u32 flags, int replace)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = 0;
	a.attach_bpf_fd = prog;
	a.attach_type = AXIOM_TICK;
	a.attach_flags = flags;
	a.replace_bpf_fd = replace;
	return sys_bpf(cmd, &a, sizeof(a));
}

static long obj(int cmd, const char *path, int fd)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.pathname = (__u64)(unsigned long)path;
	a.bpf_fd = fd;
	return sys_bpf(cmd, &a, sizeof(a));
}

/* Whether counts[key] grows over 20 ms. */
static int grows(int counts, __u32 key)
{
	__u64 before = count(counts, key);
	sleep_ms(20);
	return count(counts, key) > before;
}

/* A tick program adding one to its CPU's value of `percpu` key 0. */
static long load_per_cpu_counter(int percpu)
{
	struct bpf_insn p[] = {
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, percpu),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 0, 1, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	return load(AXIOM_TICK, p, sizeof(p) / sizeof(p[0]));
}

/* A socket filter inserting one 1 KiB value per run into `hash` under a
 * new key (a counter kept in `array`'s 1 KiB value, which is also the
 * value inserted); it returns the insert's result. */
static long load_filler(int array, int hash)
{
	struct bpf_insn p[] = {
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, array),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 2, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 7, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 7, 1, 0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -16, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, hash),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -16),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 7, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	return load(BPF_PROG_TYPE_SOCKET_FILTER, p, sizeof(p) / sizeof(p[0]));
}

/* Fills a fresh 1,000,000-entry hash map from a program, 100 inserts a
 * test run, until a run's last insert fails: the inserts tried, and that
 * result. */
static __u64 fill(int *result)
{
	int array = create(BPF_MAP_TYPE_ARRAY, 4, 1024, 1);
	int hash = create(BPF_MAP_TYPE_HASH, 8, 1024, 1000000);
	long prog = load_filler(array, hash);
	unsigned char packet[64] = { [12] = 0x08 };
	union bpf_attr a;
	*result = 1;
	for (int i = 0; i < 1000 && prog >= 0; i++) {
		memset(&a, 0, sizeof(a));
		a.test.prog_fd = prog;
		a.test.data_in = (__u64)(unsigned long)packet;
		a.test.data_size_in = sizeof(packet);
		a.test.repeat = 100;
		if (sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a)) < 0 || a.test.retval != 0) {
			*result = (int)a.test.retval;
			break;
		}
	}
	__u64 value[128] = { 0 };
	__u32 key = 0;
	memset(&a, 0, sizeof(a));
	a.map_fd = array;
	a.key = (__u64)(unsigned long)&key;
	a.value = (__u64)(unsigned long)value;
	sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sizeof(a));
	__u64 inserted = value[0] - 1;
	close(prog);
	close(hash);
	close(array);
	return inserted;
}

int main(void)
{
	int counts = create(BPF_MAP_TYPE_ARRAY, 4, 8, 2);
	int ring = create(BPF_MAP_TYPE_RINGBUF, 0, 0, RING_SIZE);
	long a = load_counter(counts, ring, 0);
	expect("load tick program A", a, 0);
	if (a < 0) {
		printf("%s\n", log_buf);
		printf(PROGRAM ": %d failed\n", failures);
		return 1 + failures;
	}
	long b = load_counter(counts, ring, 1);
	expect("load tick program B", b, 0);
	struct bpf_insn writes_ctx[] = {
		INSN(BPF_ST | BPF_MEM | BPF_DW, 1, 0, 16, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	expect("load a tick program writing its context", load(AXIOM_TICK, writes_ctx, 3), -EACCES);
	check("its log says why", strstr(log_buf, "invalid bpf_context access") != NULL);
	struct bpf_insn ret0[] = { INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0) };
	long filter = load(BPF_PROG_TYPE_SOCKET_FILTER, ret0, 2);

	expect("link a socket filter to the tick", link_create(filter, AXIOM_TICK, 0, 0), -EINVAL);
	expect("link with flags", link_create(a, AXIOM_TICK, 0, 1), -EINVAL);
	expect("link to tick target 5", link_create(a, AXIOM_TICK, 5, 0), -EINVAL);
	expect("link a bad descriptor", link_create(99, AXIOM_TICK, 0, 0), -EBADF);
	expect("link a map", link_create(counts, AXIOM_TICK, 0, 0), -EINVAL);
	check("nothing runs before attaching", !grows(counts, 0));
	long link = link_create(a, AXIOM_TICK, 0, 0);
	expect("link A to the tick", link, 0);
	check("A counts ticks", grows(counts, 0));

	/* Records from the interrupt handler wake this reader. */
	__u64 *cons = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
	const unsigned char *prod = mmap(NULL, PAGE + 2 * RING_SIZE, PROT_READ, MAP_SHARED, ring, PAGE);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
	epoll_ctl(ep, EPOLL_CTL_ADD, ring, &ev);
	int records = 0, ordered = 1, woken = 0;
	__u64 last_tick = 0;
	while (records < 200) {
		woken += epoll_wait(ep, &ev, 1, -1) == 1;
		__u64 c = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
		__u64 p = __atomic_load_n((const __u64 *)prod, __ATOMIC_ACQUIRE);
		while (c < p) {
			const unsigned char *hdr = prod + PAGE + (c & (RING_SIZE - 1));
			__u32 len = __atomic_load_n((const __u32 *)hdr, __ATOMIC_ACQUIRE);
			if (len & (1u << 31))
				break;
			if (!(len & (1u << 30))) {
				__u64 tick;
				__u32 cpu;
				memcpy(&tick, hdr + 8, 8);
				memcpy(&cpu, hdr + 16, 4);
				if (cpu == 0) {
					ordered &= tick > last_tick;
					last_tick = tick;
				}
				records++;
			}
			c += ((len & ~(3u << 30)) + 8 + 7) & ~7ull;
			__atomic_store_n(cons, c, __ATOMIC_RELEASE);
		}
	}
	check("200 tick records read through epoll_wait, CPU 0's in tick order", records >= 200 && ordered && woken > 0);

	expect("link B while A's link holds the tick", link_create(b, AXIOM_TICK, 0, 0), -EBUSY);
	expect("PROG_ATTACH while a link holds the tick", prog_attach(BPF_PROG_ATTACH, b, 0, 0), -EBUSY);
	expect("replace naming the wrong old program", link_update(link, b, BPF_F_REPLACE, b), -EPERM);
	expect("replace with a socket filter", link_update(link, filter, 0, 0), -EINVAL);
	expect("replace through a map descriptor", link_update(counts, b, 0, 0), -EINVAL);
	expect("replace A by B", link_update(link, b, BPF_F_REPLACE, a), 0);
	check("B counts ticks", grows(counts, 1));
	check("A no longer does", !grows(counts, 0));

	struct { __u32 type, id, prog_id, attach_type, target; } info;
	union bpf_attr at;
	memset(&info, 0, sizeof(info));
	memset(&at, 0, sizeof(at));
	at.info.bpf_fd = link;
	at.info.info_len = sizeof(info);
	at.info.info = (__u64)(unsigned long)&info;
	expect("link info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &at, sizeof(at)), 0);
	check("it names the hook and B", info.type == LINK_TYPE_AXIOM_HOOK && info.prog_id == prog_id(b) &&
					       info.attach_type == AXIOM_TICK && info.target == 0);
	memset(&at, 0, sizeof(at));
	at.start_id = info.id - 1;
	expect("next link id", sys_bpf(BPF_LINK_GET_NEXT_ID, &at, sizeof(at)), 0);
	check("it is this link's", at.next_id == info.id);
	memset(&at, 0, sizeof(at));
	at.link_id = info.id;
	long again = sys_bpf(BPF_LINK_GET_FD_BY_ID, &at, sizeof(at));
	expect("link by id", again, 0);
	close(again);

	expect("pin the link", obj(BPF_OBJ_PIN, "/sys/fs/bpf/tick-link", link), 0);
	close(link);
	check("the pinned link keeps B attached", grows(counts, 1));
	long pinned = obj(BPF_OBJ_GET, "/sys/fs/bpf/tick-link", 0);
	expect("get the pinned link", pinned, 0);
	unlink("/sys/fs/bpf/tick-link");
	expect("detach it", ({ memset(&at, 0, sizeof(at)); at.link_detach.link_fd = pinned; sys_bpf(BPF_LINK_DETACH, &at, sizeof(at)); }), 0);
	check("nothing runs after LINK_DETACH", !grows(counts, 1) && !grows(counts, 0));
	expect("update a detached link", link_update(pinned, a, 0, 0), -ENOLINK);
	close(pinned);

	link = link_create(a, AXIOM_TICK, 0, 0);
	expect("link A again", link, 0);
	close(link);
	check("closing the last descriptor detaches", !grows(counts, 0));

	expect("PROG_ATTACH A", prog_attach(BPF_PROG_ATTACH, a, 0, 0), 0);
	check("A counts", grows(counts, 0));
	expect("link while attached", link_create(b, AXIOM_TICK, 0, 0), -EBUSY);
	expect("PROG_ATTACH B replacing the wrong one", prog_attach(BPF_PROG_ATTACH, b, BPF_F_REPLACE, b), -ENOENT);
	expect("PROG_ATTACH B replacing A", prog_attach(BPF_PROG_ATTACH, b, BPF_F_REPLACE, a), 0);
	check("B counts", grows(counts, 1));
	expect("PROG_DETACH naming A", prog_attach(BPF_PROG_DETACH, a, 0, 0), -ENOENT);
	expect("PROG_DETACH", prog_attach(BPF_PROG_DETACH, 0, 0, 0), 0);
	check("nothing runs after PROG_DETACH", !grows(counts, 1));
	expect("PROG_DETACH again", prog_attach(BPF_PROG_DETACH, 0, 0, 0), -ENOENT);

	/* Per-CPU values: each CPU's ticks land in its own slot. */
	int percpu = create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1);
	long pc = load_per_cpu_counter(percpu);
	expect("load a per-CPU tick counter", pc, 0);
	expect("attach it", prog_attach(BPF_PROG_ATTACH, pc, 0, 0), 0);
	sleep_ms(50);
	expect("detach it", prog_attach(BPF_PROG_DETACH, 0, 0, 0), 0);
	__u64 per[64] = { 0 };
	union bpf_attr pa;
	__u32 zero = 0;
	memset(&pa, 0, sizeof(pa));
	pa.map_fd = percpu;
	pa.key = (__u64)(unsigned long)&zero;
	pa.value = (__u64)(unsigned long)per;
	sys_bpf(BPF_MAP_LOOKUP_ELEM, &pa, sizeof(pa));
	int cpus = sysconf(_SC_NPROCESSORS_ONLN), every = cpus > 0 && cpus <= 64;
	for (int c = 0; c < cpus && c < 64; c++)
		every &= per[c] > 0;
	check("every CPU counted its own ticks", every);
	close(pc);
	close(percpu);

	int result;
	__u64 first = fill(&result);
	printf(PROGRAM ": a program filled a hash map with %s entries of 1 KiB until: %s\n",
	       first > 100 ? "over 100" : "at most 100", name(result));
	check("its insert failed with ENOMEM", result == -ENOMEM);
	__u64 second = fill(&result);
	check("the memory came back with the map", result == -ENOMEM && second + second / 10 >= first);

	iio();

	close(ep);
	munmap(cons, PAGE);
	munmap((void *)prod, PAGE + 2 * RING_SIZE);
	close(filter);
	close(b);
	close(a);
	close(ring);
	close(counts);
	printf(PROGRAM ": %d failed\n", failures);
	return failures;
}
