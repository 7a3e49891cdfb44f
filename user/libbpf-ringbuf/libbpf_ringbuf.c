/* A libbpf reader on Axiom: the ring buffer read by libbpf's own
 * ring_buffer__new/ring_buffer__poll (which maps the consumer page
 * read+write, the producer and data pages read-only, and waits in
 * epoll_wait), with the maps, the program and the test runs made through
 * libbpf's low-level API. Built statically against Debian's libbpf; the
 * same binary runs on Linux and on Axiom, one line per case
 * ("libbpf-ringbuf: <case>: <result>"), which the build tool compares.
 * Exit status: failed checks. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#define PROGRAM "libbpf-ringbuf"
#include "../include/bpf_check.h"

#define RECORDS 100000
#define BATCH 500

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static unsigned long long next_seq, records, bad;

static int on_record(void *ctx, void *data, size_t len)
{
	unsigned long long rec[2];
	(void)ctx;
	if (len != sizeof(rec)) {
		bad++;
		return 0;
	}
	memcpy(rec, data, sizeof(rec));
	bad += rec[0] != next_seq || rec[1] != ~rec[0];
	next_seq = rec[0] + 1;
	records++;
	return 0;
}

/* One 16-byte record per run: the sequence number kept in `counter`
 * and its complement, reserved and submitted. */
static int load_producer(int ring, int counter)
{
	struct bpf_insn p[] = {
		INSN(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, counter),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 16, 0), /* -> out */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 7, 0, 0, 0),
		INSN(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, ring),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 16),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_reserve),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 9, 0), /* -> out */
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 7, 0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 0, 1, 0, 0),
		INSN(BPF_ALU64 | BPF_XOR | BPF_K, 1, 0, 0, -1),
		INSN(BPF_STX | BPF_MEM | BPF_DW, 0, 1, 8, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_submit),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 8, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 7, 8, 0, BPF_ADD),
		/* out: */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "producer", "GPL", p, sizeof(p) / sizeof(p[0]), &opts);
}

static int silent(enum libbpf_print_level level, const char *format, va_list args)
{
	(void)level, (void)format, (void)args;
	return 0;
}

int main(void)
{
	libbpf_set_print(silent);
	int ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "events", 0, 0, 64 * 1024, NULL);
	expect("bpf_map_create ring buffer of 64 KiB", ring, 0);
	int counter = bpf_map_create(BPF_MAP_TYPE_ARRAY, "counter", 4, 8, 1, NULL);
	expect("bpf_map_create array", counter, 0);
	int prog = load_producer(ring, counter);
	expect("bpf_prog_load producer", prog, 0);
	struct ring_buffer *rb = ring_buffer__new(ring, on_record, NULL, NULL);
	check("ring_buffer__new (maps the ring, makes an epoll instance)", rb != NULL);
	if (ring < 0 || counter < 0 || prog < 0 || !rb) {
		printf(PROGRAM ": %d failed\n", failures);
		return 1 + failures;
	}
	check("ring_buffer__epoll_fd", ring_buffer__epoll_fd(rb) >= 0);
	expect("ring_buffer__poll with nothing to read", ring_buffer__poll(rb, 0), 0);
	unsigned char packet[64] = { [12] = 0x08 };
	int runs_ok = 1, polls_ok = 1;
	for (int produced = 0; produced < RECORDS; produced += BATCH) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet, .data_size_in = sizeof(packet), .repeat = BATCH);
		runs_ok &= bpf_prog_test_run_opts(prog, &run) == 0;
		polls_ok &= ring_buffer__poll(rb, 1000) == BATCH;
	}
	check("bpf_prog_test_run_opts: 200 runs of 500", runs_ok);
	check("ring_buffer__poll: 500 records each time", polls_ok);
	check("100000 records through libbpf's reader, in order, none lost or duplicated",
	      records == RECORDS && bad == 0 && next_seq == RECORDS);
	expect("ring_buffer__consume when empty", ring_buffer__consume(rb), 0);
	ring_buffer__free(rb);
	close(prog);
	close(counter);
	close(ring);
	printf(PROGRAM ": %d failed\n", failures);
	return failures;
}
