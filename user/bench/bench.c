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
 *   open_close         open(2) + close(2) of /etc/motd (an initramfs file)
 *   stat               stat(2) of the same
 *   mmap_fault_page    anonymous mmap of 4 MiB, a write to each page (the
 *                      fault), munmap: per page
 *   pipe_4k_roundtrip  4 KiB written to a pipe and read back, per round
 *   fork_exit_wait     fork, the child's _exit, the parent's wait
 *   timer_interval     200 periodic absolute sleeps of 1 ms
 *                      (clock_nanosleep TIMER_ABSTIME): each interval,
 *                      min/median/max, and its standard deviation as
 *                      timer_jitter
 *   timer_lateness     how late each of those wake-ups was
 *   timer_to_bpf       meanwhile, a timer's programmed deadline to the first
 *                      instruction of a BPF program that records the time:
 *                      on Linux a raw tracepoint program on
 *                      hrtimer_expire_entry reading the hrtimer's hard
 *                      expiry (every hrtimer that expires: the sleeps', the
 *                      tick's), on Axiom a timer-tick program reading its
 *                      context's deadline; min/median/p99/max
 * A call the kernel does not have (ENOSYS) prints "bench: <figure>:
 * not supported" and no figure.
 *   boot_clock         first: the kernel's own clock (CLOCK_BOOTTIME) at
 *                      the program's first instructions
 *   mem_used_kib       as Linux's /init only: MemTotal - MemAvailable of
 *                      /proc/meminfo at the start, in KiB (a count, not ns;
 *                      Axiom prints its own footprint on its console);
 *                      with kernel_text_kib, kernel_data_kib (data + bss),
 *                      kernel_image_kib (text, rodata, data, bss) from
 *                      /proc/iomem and page_tables_kib (PageTables)
 *   pipe_64k_stream    64 KiB written to a pipe in 4 KiB writes and read
 *                      back, per 64 KiB (its throughput: 64 KiB / time)
 * (p99 too, by nearest rank, where it samples).
 * `bench quick` runs a tenth of the iterations. Exit status: 0, or 1 if
 * a call failed (printed).
 *
 * Run as a Linux kernel's /init (process 1, from an initramfs that holds
 * nothing else), it first mounts devtmpfs on /dev for /dev/null and the
 * console, and at the end reports its verdict through QEMU's
 * isa-debug-exit port (0xf4: QEMU exits with (byte << 1) | 1, 0x21 for
 * success and 0x23 for failure, statuses QEMU never gives by itself;
 * abi/src/verdict.rs), as Axiom does, so both kernels' boots end the same
 * way. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <sys/io.h>
#endif
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static int failed;

/* Process 1 on Linux: the memory in use, from /proc/meminfo. */
static void meminfo(void)
{
	char line[128];
	unsigned long long total = 0, avail = 0, v;
	mkdir("/proc", 0755);
	if (mount("proc", "/proc", "proc", 0, NULL) != 0)
		return;
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
			total = v;
		if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
			avail = v;
	}
	fclose(f);
	if (total && avail)
		printf("BENCH mem_used_kib 1 %llu %llu\n", total - avail, total - avail);
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "PageTables: %llu kB", &v) == 1)
			printf("BENCH page_tables_kib 1 %llu %llu\n", v, v);
	if (f)
		fclose(f);
	/* The kernel image's sections, as /proc/iomem names them. */
	unsigned long long text = 0, rodata = 0, data = 0, bss = 0, lo, hi;
	char what[64];
	f = fopen("/proc/iomem", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %llx-%llx : %63[^\n]", &lo, &hi, what) != 3)
			continue;
		unsigned long long kib = (hi - lo + 1) / 1024;
		if (strcmp(what, "Kernel code") == 0)
			text = kib;
		else if (strcmp(what, "Kernel rodata") == 0)
			rodata = kib;
		else if (strcmp(what, "Kernel data") == 0)
			data = kib;
		else if (strcmp(what, "Kernel bss") == 0)
			bss = kib;
	}
	if (f)
		fclose(f);
	if (text) {
		printf("BENCH kernel_text_kib 1 %llu %llu\n", text, text);
		printf("BENCH kernel_data_kib 1 %llu %llu\n", data + bss, data + bss);
		printf("BENCH kernel_image_kib 1 %llu %llu\n", text + rodata + data + bss,
		       text + rodata + data + bss);
	}
}

/* Process 1 on Linux: /dev and the console. Fails quietly elsewhere. */
static void init_setup(void)
{
	mkdir("/dev", 0755);
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0)
		return;
	/* Timers fire at their deadline, as a latency-sensitive program
	 * asks (the default slack delays a sleeper's wake-up by 50 us). */
	prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
	int console = open("/dev/console", O_RDWR);
	if (console >= 0) {
		dup2(console, 0);
		dup2(console, 1);
		dup2(console, 2);
		if (console > 2)
			close(console);
	}
}

/* isa-debug-exit bytes for QEMU exit statuses 0x21 and 0x23. */
#define VERDICT_PASS_BYTE 0x10
#define VERDICT_FAIL_BYTE 0x11

/* Process 1 on Linux: end QEMU with the verdict (x86-64: isa-debug-exit),
 * or power off; returning from /init would panic the kernel. */
static void init_exit(int status)
{
	fflush(stdout);
#if defined(__x86_64__)
	if (ioperm(0xf4, 4, 1) == 0)
		outb(status ? VERDICT_FAIL_BYTE : VERDICT_PASS_BYTE, 0xf4);
#else
	(void)status;
#endif
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
	printf("BENCH %s %d %llu %llu min=%llu median=%llu p99=%llu max=%llu\n", name, n, total,
	       total / n, s[0], s[n / 2], s[(n * 99 + 99) / 100 - 1], s[n - 1]);
}

/* A sampled figure's distribution: its values at 0, 5, ..., 95 and 99 %
 * of the sorted samples, as "CDF <name> v0 ... v20". */
static void report_cdf(const char *name, const unsigned long long *sorted, int n)
{
	printf("CDF %s", name);
	for (int p = 0; p <= 100; p += 5) {
		int q = p == 100 ? 99 : p;
		int i = (n - 1) * q / 100;
		printf(" %llu", sorted[i]);
	}
	printf("\n");
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

static int unsupported(const char *figure, long r)
{
	if (r < 0 && errno == ENOSYS) {
		printf("bench: %s: not supported\n", figure);
		return 1;
	}
	return 0;
}

/* open + close and stat of an initramfs file. */
static void files(unsigned long n)
{
	unsigned long long t = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		int fd = open("/etc/motd", O_RDONLY);
		if (fd < 0) {
			must("open /etc/motd", fd);
			return;
		}
		close(fd);
	}
	report("open_close", n, now_ns() - t);
	struct stat st;
	t = now_ns();
	for (unsigned long i = 0; i < n; i++)
		stat("/etc/motd", &st);
	report("stat", n, now_ns() - t);
}

/* Anonymous memory: map, fault each page in by a write, unmap. */
static void faults(int rounds)
{
	const unsigned long size = 4 << 20, page = 4096;
	unsigned long long total = 0;
	for (int r = 0; r < rounds; r++) {
		unsigned long long t = now_ns();
		volatile char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			must("mmap of 4 MiB", -1);
			return;
		}
		for (unsigned long o = 0; o < size; o += page)
			m[o] = 1;
		munmap((void *)m, size);
		total += now_ns() - t;
	}
	report("mmap_fault_page", rounds * (size / page), total);
}

/* 4 KiB through a pipe and back; fork + exit + wait. */
static void processes(unsigned long n)
{
	int p[2];
	static char buf[4096];
	if (pipe(p) != 0) {
		if (!unsupported("pipe_4k_roundtrip", -1))
			must("pipe", -1);
	} else {
		unsigned long long t = now_ns();
		for (unsigned long i = 0; i < n; i++) {
			if (write(p[1], buf, sizeof(buf)) != sizeof(buf) ||
			    read(p[0], buf, sizeof(buf)) != sizeof(buf)) {
				must("pipe write/read", -1);
				break;
			}
		}
		report("pipe_4k_roundtrip", n, now_ns() - t);
		/* 64 KiB at a time (a pipe holds 64 KiB on Linux): throughput. */
		unsigned long rounds = n / 16 ? n / 16 : 1;
		t = now_ns();
		for (unsigned long i = 0; i < rounds; i++) {
			int ok = 1;
			for (int j = 0; j < 16 && ok; j++)
				ok = write(p[1], buf, sizeof(buf)) == sizeof(buf);
			for (int j = 0; j < 16 && ok; j++)
				ok = read(p[0], buf, sizeof(buf)) == sizeof(buf);
			if (!ok) {
				must("pipe 64 KiB write/read", -1);
				break;
			}
		}
		report("pipe_64k_stream", rounds, now_ns() - t);
		close(p[0]);
		close(p[1]);
	}
	unsigned long forks = n / 10 ? n / 10 : 1;
	unsigned long long t = now_ns();
	for (unsigned long i = 0; i < forks; i++) {
		pid_t child = fork();
		if (child == 0)
			_exit(0);
		if (child < 0) {
			if (!unsupported("fork_exit_wait", -1))
				must("fork", -1);
			return;
		}
		waitpid(child, NULL, 0);
	}
	report("fork_exit_wait", forks, now_ns() - t);
}

/* Deadline to BPF: the programs and their map. The map: an array of
 * 4,097 u64; slot 0 counts, slots 1.. hold each latency (ns). */
#define LAT_SLOTS 4096
#define AXIOM_TICK 0x1003

static int deadline_map = -1, deadline_link = -1;

static long load_deadline_prog(int linux_kernel)
{
	struct bpf_insn head_linux[] = {
		/* r7 = ((struct hrtimer *)args[0])->node.expires (offset 24) */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 6, 1, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 6, 0, 0, 24),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 8),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 6, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, 113 /* probe_read_kernel */),
		INSN(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 24, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 7, 10, -8, 0),
	};
	struct bpf_insn head_axiom[] = {
		/* r7 = ((struct axiom_tick_ctx *)ctx)->deadline_ns */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 7, 1, 32, 0),
	};
	struct bpf_insn tail[] = {
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns),
		INSN(BPF_ALU64 | BPF_SUB | BPF_X, 0, 7, 0, 0),
		/* early (negative) or on another clock: not a latency */
		INSN(BPF_JMP | BPF_JGT | BPF_K, 0, 0, 20, 10000000),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 8, 0, 0, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -12, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, deadline_map),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -12),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 12, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD | BPF_FETCH),
		INSN(BPF_JMP | BPF_JGE | BPF_K, 1, 0, 9, LAT_SLOTS),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, 1),
		INSN(BPF_STX | BPF_MEM | BPF_W, 10, 1, -12, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, deadline_map),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -12),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 0, 8, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	struct bpf_insn p[64];
	int n = 0;
	struct bpf_insn *head = linux_kernel ? head_linux : head_axiom;
	int heads = linux_kernel ? sizeof(head_linux) / sizeof(head_linux[0]) : 1;
	for (int i = 0; i < heads; i++)
		p[n++] = head[i];
	for (unsigned i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		p[n++] = tail[i];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = linux_kernel ? BPF_PROG_TYPE_RAW_TRACEPOINT : AXIOM_TICK;
	a.insns = (__u64)(unsigned long)p;
	a.insn_cnt = n;
	a.license = (__u64)(unsigned long)"GPL";
	return sys_bpf(BPF_PROG_LOAD, &a);
}

/* Attaches the deadline program: Linux's raw tracepoint first, else
 * Axiom's tick hook. Quiet when neither kernel offers it. */
static void deadline_probe_start(void)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = LAT_SLOTS + 1;
	deadline_map = sys_bpf(BPF_MAP_CREATE, &a);
	if (deadline_map < 0)
		return;
	long prog = load_deadline_prog(1);
	if (prog >= 0) {
		memset(&a, 0, sizeof(a));
		a.raw_tracepoint.name = (__u64)(unsigned long)"hrtimer_expire_entry";
		a.raw_tracepoint.prog_fd = prog;
		deadline_link = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
	} else {
		prog = load_deadline_prog(0);
		if (prog >= 0) {
			memset(&a, 0, sizeof(a));
			a.link_create.prog_fd = prog;
			a.link_create.attach_type = AXIOM_TICK;
			deadline_link = sys_bpf(BPF_LINK_CREATE, &a);
		}
	}
	if (prog >= 0)
		close(prog);
	if (deadline_link < 0)
		printf("bench: timer_to_bpf: not supported (%s)\n", strerror(errno));
}

/* Detaches it and reports what it recorded. */
static void deadline_probe_stop(void)
{
	static unsigned long long lat[LAT_SLOTS];
	if (deadline_link < 0) {
		if (deadline_map >= 0)
			close(deadline_map);
		return;
	}
	close(deadline_link);
	union bpf_attr a;
	__u32 key = 0;
	__u64 value = 0;
	memset(&a, 0, sizeof(a));
	a.map_fd = deadline_map;
	a.key = (__u64)(unsigned long)&key;
	a.value = (__u64)(unsigned long)&value;
	must("deadline map count", sys_bpf(BPF_MAP_LOOKUP_ELEM, &a));
	int n = value < LAT_SLOTS ? (int)value : LAT_SLOTS;
	for (int i = 0; i < n; i++) {
		key = i + 1;
		sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
		lat[i] = value;
	}
	close(deadline_map);
	if (n > 0) {
		report_samples("timer_to_bpf", lat, n);
		report_cdf("timer_to_bpf", lat, n);
	}
	else
		printf("bench: timer_to_bpf: the program recorded nothing\n");
}

/* Periodic absolute sleeps of 1 ms: the intervals and the lateness. */
static void timer(int n)
{
	static unsigned long long interval[200], late[200];
	const unsigned long long period = 1000000;
	struct timespec ts;
	unsigned long long next = now_ns() + period, last = 0;
	if (n > 200)
		n = 200;
	deadline_probe_start();
	for (int i = 0; i < n; i++) {
		ts.tv_sec = next / 1000000000ull;
		ts.tv_nsec = next % 1000000000ull;
		long r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (r != 0) {
			errno = r;
			if (!unsupported("timer_interval", -1))
				must("clock_nanosleep", -1);
			return;
		}
		unsigned long long woke = now_ns();
		late[i] = woke - next;
		interval[i] = last ? woke - last : period;
		last = woke;
		next += period;
	}
	deadline_probe_stop();
	double mean = 0, var = 0;
	for (int i = 1; i < n; i++)
		mean += interval[i];
	mean /= n - 1;
	for (int i = 1; i < n; i++)
		var += (interval[i] - mean) * (interval[i] - mean);
	/* The standard deviation: Newton's integer square root. */
	unsigned long long v = (unsigned long long)(var / (n - 2)), jitter = v;
	while (jitter > 0 && jitter * jitter > v)
		jitter = (jitter + v / jitter) / 2;
	report_samples("timer_interval", interval + 1, n - 1);
	printf("BENCH timer_jitter 1 %llu %llu\n", jitter, jitter);
	report_samples("timer_lateness", late, n);
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
	if (init)
		meminfo();

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

	files(n / 10);
	faults(4);
	processes(n / 10);
	timer(200 / (int)scale);
	/* The verdict, for kernels whose power-off carries none (arm64 Linux
	 * ends QEMU through PSCI, status 0 either way). */
	printf("bench: done, %d failed\n", failed);
	if (init)
		init_exit(failed);
	return failed;
}
