/* The system-call and bpf() benchmark: the same static program runs as a
 * process on Axiom and on Linux, and prints one machine-readable line per
 * figure:
 *
 *   BENCH <name> <iters> <total_ns> <per_iter_ns> [min=<ns> median=<ns> max=<ns>]
 *
 * (the min/median/max fields where it keeps samples). Times come from
 * clock_gettime(CLOCK_MONOTONIC). Figures:
 *   getpid             the raw system call
 *   read_devnull       read(2) of one byte from /dev/null
 *   write_devnull      write(2) of one byte to /dev/null
 *   map_lookup         BPF_MAP_LOOKUP_ELEM on an array map (8-byte value)
 *   map_update         BPF_MAP_UPDATE_ELEM on the same
 *   prog_load_27_cold  the first BPF_PROG_LOAD of a 27-instruction socket filter
 *   prog_load_27       10 more loads of it: min/median/max
 *   prog_test_run      BPF_PROG_TEST_RUN of it, per run (repeat 1000)
 *   boot_clock         first: the kernel's own clock (CLOCK_BOOTTIME) at
 *                      the program's first instructions
 * `bench quick` runs a tenth of the iterations. Exit status: 0, or 1 if
 * a call failed (printed).
 *
 * Run as a Linux kernel's /init (process 1, from an initramfs that holds
 * nothing else), it first mounts devtmpfs on /dev for /dev/null and the
 * console, and at the end reports its verdict through QEMU's
 * isa-debug-exit port (0xf4: QEMU exits with 1 for success, 3 for
 * failure), as Axiom does, so both kernels' boots end the same way. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static int failed;

/* Process 1 on Linux: /dev and the console. Fails quietly elsewhere. */
static void init_setup(void)
{
	mkdir("/dev", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0)
		return;
	int console = open("/dev/console", O_RDWR);
	if (console >= 0) {
		dup2(console, 0);
		dup2(console, 1);
		dup2(console, 2);
		if (console > 2)
			close(console);
	}
}

/* Process 1 on Linux: end QEMU with the verdict (isa-debug-exit), or
 * power off; returning from /init would panic the kernel. */
static void init_exit(int status)
{
	fflush(stdout);
	if (ioperm(0xf4, 4, 1) == 0)
		outb(status ? 1 : 0, 0xf4);
	reboot(RB_POWER_OFF);
}

static unsigned long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static void report(const char *name, unsigned long iters, unsigned long long total)
{
	printf("BENCH %s %lu %llu %llu\n", name, iters, total, total / (iters ? iters : 1));
}

static int cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}

static void report_samples(const char *name, unsigned long long *s, int n)
{
	unsigned long long total = 0;
	for (int i = 0; i < n; i++)
		total += s[i];
	qsort(s, n, sizeof(*s), cmp);
	printf("BENCH %s %d %llu %llu min=%llu median=%llu max=%llu\n", name, n, total, total / n, s[0],
	       s[n / 2], s[n - 1]);
}

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static void must(const char *what, long r)
{
	if (r < 0) {
		printf("bench: %s failed: %s\n", what, strerror(errno));
		failed = 1;
	}
}

/* 27 instructions: count the packet in an array map, then mix its length. */
static long load27(int map)
{
	struct bpf_insn p[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 17, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 0, 1, 0, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 6, 0, 0),
		INSN(BPF_ALU64 | BPF_MUL | BPF_K, 2, 0, 0, 3),
		INSN(BPF_ALU64 | BPF_XOR | BPF_K, 2, 0, 0, 0x55),
		INSN(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0),
		INSN(BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 4),
		INSN(BPF_ALU64 | BPF_ADD | BPF_X, 2, 3, 0, 0),
		INSN(BPF_ALU64 | BPF_SUB | BPF_K, 2, 0, 0, 7),
		INSN(BPF_ALU64 | BPF_OR | BPF_K, 2, 0, 0, 1),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0),
		INSN(BPF_ALU64 | BPF_LSH | BPF_K, 4, 0, 0, 2),
		INSN(BPF_ALU64 | BPF_ADD | BPF_X, 2, 4, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 0, 2, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		/* 25: no map value (never taken: the array has key 0) */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (__u64)(unsigned long)p;
	a.insn_cnt = sizeof(p) / sizeof(p[0]);
	a.license = (__u64)(unsigned long)"GPL";
	return sys_bpf(BPF_PROG_LOAD, &a);
}

int main(int argc, char **argv)
{
	struct timespec boot;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	int init = getpid() == 1;
	if (init)
		init_setup();
	unsigned long long boot_ns = (unsigned long long)boot.tv_sec * 1000000000ull + boot.tv_nsec;
	printf("BENCH boot_clock 1 %llu %llu\n", boot_ns, boot_ns);

	unsigned long scale = argc > 1 && strcmp(argv[1], "quick") == 0 ? 10 : 1;
	unsigned long n = 100000 / scale;
	unsigned long long t;
	char byte = 0;

	t = now_ns();
	for (unsigned long i = 0; i < n; i++)
		syscall(SYS_getpid);
	report("getpid", n, now_ns() - t);

	int null = open("/dev/null", O_RDWR);
	must("open /dev/null", null);
	t = now_ns();
	for (unsigned long i = 0; i < n; i++)
		read(null, &byte, 1);
	report("read_devnull", n, now_ns() - t);
	t = now_ns();
	for (unsigned long i = 0; i < n; i++)
		write(null, &byte, 1);
	report("write_devnull", n, now_ns() - t);
	close(null);

	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 4;
	int map = sys_bpf(BPF_MAP_CREATE, &a);
	must("map create", map);
	__u32 key = 1;
	__u64 value = 42;
	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (__u64)(unsigned long)&key;
	a.value = (__u64)(unsigned long)&value;
	unsigned long m = 20000 / scale;
	t = now_ns();
	for (unsigned long i = 0; i < m; i++)
		sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
	report("map_update", m, now_ns() - t);
	t = now_ns();
	for (unsigned long i = 0; i < m; i++)
		sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
	report("map_lookup", m, now_ns() - t);
	must("map lookup", sys_bpf(BPF_MAP_LOOKUP_ELEM, &a));

	unsigned long long s[10];
	t = now_ns();
	long prog = load27(map);
	report("prog_load_27_cold", 1, now_ns() - t);
	must("load of 27 instructions", prog);
	for (int i = 0; i < 10; i++) {
		t = now_ns();
		long p = load27(map);
		s[i] = now_ns() - t;
		must("load of 27 instructions", p);
		close(p);
	}
	report_samples("prog_load_27", s, 10);

	unsigned char packet[64] = { [12] = 0x08 };
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = prog;
	a.test.data_in = (__u64)(unsigned long)packet;
	a.test.data_size_in = sizeof(packet);
	a.test.repeat = 1000;
	must("test run", sys_bpf(BPF_PROG_TEST_RUN, &a));
	printf("BENCH prog_test_run %u %llu %u\n", a.test.repeat,
	       (unsigned long long)a.test.duration * a.test.repeat, a.test.duration);
	close(prog);
	close(map);
	if (init)
		init_exit(failed);
	return failed;
}
