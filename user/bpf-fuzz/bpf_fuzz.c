/* Hostile bpf() calls from a user process: random commands, attribute
 * sizes and bytes, with pointers aimed at valid buffers, at nothing, and
 * at the kernel. The kernel must answer every call with a result or an
 * errno and keep running; the in-kernel test then checks that every BPF
 * object this process created is gone once it exits. Links and
 * attachments to Axiom's tick hook (a random program that passed the
 * verifier then runs on every tick), mmap of the descriptors and epoll
 * on them are thrown in too.
 * Usage: bpf-fuzz [iterations] [seed]. Prints counts of each result. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned long long state;

static unsigned long long next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static unsigned char buf[3][8192];

/* A pointer: into one of the buffers, null, unmapped, or the kernel's. */
static unsigned long long pointer(void)
{
	switch (next() % 8) {
	case 0: return 0;
	case 1: return 0x10;
	case 2: return 0xffffffff80100000ull;
	case 3: return 0x7ff000000000ull;
	default: return (unsigned long long)(unsigned long)buf[next() % 3] + next() % 4096;
	}
}

static int fds[16];

/* A descriptor: one this process made, a standard one, or nonsense. */
static int some_fd(void)
{
	switch (next() % 6) {
	case 0: return next() % 3;
	case 1: return 900 + next() % 100;
	default: return fds[next() % 16];
	}
}

static char paths[4][32];

/* Ids at or below this belong to objects that existed before the fuzz
 * started (the running scheduler policy's): not this process's to take by
 * id, as an unprivileged process may not on Linux. */
static unsigned int id_base;

static unsigned int highest_id(int cmd)
{
	union bpf_attr a;
	unsigned int id = 0;
	for (;;) {
		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (syscall(__NR_bpf, cmd, &a, sizeof(a)) < 0)
			return id;
		id = a.next_id;
	}
}

/* A well-formed attribute for a random command, its fields plausible
 * but random: deeper than random bytes get. */
static int structured(union bpf_attr *a)
{
	memset(a, 0, sizeof(*a));
	static const unsigned int types[] = { 1, 2, 3, 5, 6, 9, 22, 23, 27, 99 };
	static const unsigned int attach_types[] = { 0, 1, 6, 0x1003, 0x1000, 99 };
	switch (next() % 14) {
	case 12: {
		static const int cmds[] = { BPF_LINK_CREATE, BPF_LINK_UPDATE, BPF_LINK_DETACH };
		int cmd = cmds[next() % 3];
		if (cmd == BPF_LINK_CREATE) {
			a->link_create.prog_fd = some_fd();
			a->link_create.target_fd = next() % 4 == 0 ? next() : 0;
			a->link_create.attach_type = attach_types[next() % 6];
			a->link_create.flags = next() % 4 == 0 ? next() : 0;
		} else if (cmd == BPF_LINK_UPDATE) {
			a->link_update.link_fd = some_fd();
			a->link_update.new_prog_fd = some_fd();
			a->link_update.flags = next() % 3 == 0 ? BPF_F_REPLACE : next() % 4 == 0 ? next() : 0;
			a->link_update.old_prog_fd = next() % 2 ? some_fd() : 0;
		} else {
			a->link_detach.link_fd = some_fd();
		}
		return cmd;
	}
	case 13:
		a->target_fd = next() % 4 == 0 ? next() : 0;
		a->attach_bpf_fd = next() % 4 == 0 ? 0 : some_fd();
		a->attach_type = attach_types[next() % 6];
		a->attach_flags = next() % 3 == 0 ? BPF_F_REPLACE : next() % 4 == 0 ? next() : 0;
		a->replace_bpf_fd = next() % 2 ? some_fd() : 0;
		return next() % 2 ? BPF_PROG_ATTACH : BPF_PROG_DETACH;
	case 0:
		a->map_type = types[next() % 10];
		a->key_size = next() % 3 == 0 ? 0 : 1 + next() % 16;
		a->value_size = next() % 4 == 0 ? 0 : 1 + next() % 64;
		a->max_entries = next() % 5 == 0 ? 4096 : next() % 16;
		a->map_flags = next() % 4 == 0 ? next() % 512 : 0;
		return BPF_MAP_CREATE;
	case 1: case 2: case 3: case 4: {
		static const int cmds[] = { BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM,
			BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_MAP_FREEZE };
		a->map_fd = some_fd();
		a->key = pointer();
		a->value = pointer();
		a->flags = next() % 5 == 0 ? next() : next() % 3;
		return cmds[next() % 6];
	}
	case 5: case 6: {
		struct bpf_insn *insns = (struct bpf_insn *)buf[1];
		int n = 1 + next() % 12;
		static const unsigned char codes[] = { 0xb7, 0xbf, 0x07, 0x0f, 0x61, 0x79, 0x63, 0x7b, 0x15, 0x05, 0x85, 0x18, 0x95 };
		for (int i = 0; i < n; i++) {
			insns[i].code = codes[next() % sizeof(codes)];
			insns[i].dst_reg = next() % 11;
			insns[i].src_reg = next() % 3 == 0 ? next() % 11 : 0;
			insns[i].off = next() % 4 == 0 ? (short)next() : -(short)(next() % 16) * 8;
			insns[i].imm = next() % 3 == 0 ? fds[next() % 16] : (int)(next() % 64);
		}
		insns[n - 1].code = 0x95;
		a->prog_type = next() % 3 == 0 ? next() % 40 : next() % 4 == 0 ? 0x1003 : (next() % 2 ? 1 : 6);
		a->insns = (unsigned long)insns;
		a->insn_cnt = next() % 8 == 0 ? next() : n;
		a->license = (unsigned long)(next() % 8 == 0 ? (const char *)pointer() : "GPL");
		if (next() % 2) {
			a->log_level = next() % 4;
			a->log_size = next() % 2 ? 4096 : next() % 64;
			a->log_buf = (unsigned long)buf[2];
		}
		return BPF_PROG_LOAD;
	}
	case 7:
		a->test.prog_fd = some_fd();
		a->test.data_in = pointer();
		a->test.data_size_in = next() % 128;
		a->test.data_out = next() % 2 ? pointer() : 0;
		a->test.data_size_out = next() % 128;
		a->test.repeat = next() % 4;
		return BPF_PROG_TEST_RUN;
	case 8:
		a->info.bpf_fd = some_fd();
		a->info.info_len = next() % 300;
		a->info.info = pointer();
		return BPF_OBJ_GET_INFO_BY_FD;
	case 9:
		a->start_id = id_base + next() % 40;
		return next() % 2 ? BPF_MAP_GET_FD_BY_ID : BPF_PROG_GET_NEXT_ID + (next() % 4);
	default:
		a->pathname = (unsigned long)(next() % 8 == 0 ? (char *)pointer() : paths[next() % 4]);
		a->bpf_fd = some_fd();
		return next() % 2 ? BPF_OBJ_PIN : BPF_OBJ_GET;
	}
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? atol(argv[1]) : 5000;
	state = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x2545f4914f6cdd1dull;
	long ok = 0, errors[600] = { 0 };
	for (int p = 0; p < 4; p++)
		snprintf(paths[p], sizeof(paths[p]), "/sys/fs/bpf/fuzz%d", p);
	int id_cmds[] = { BPF_MAP_GET_NEXT_ID, BPF_PROG_GET_NEXT_ID, BPF_LINK_GET_NEXT_ID };
	for (int c = 0; c < 3; c++) {
		unsigned int h = highest_id(id_cmds[c]);
		id_base = h > id_base ? h : id_base;
	}
	unsigned char attr[512];
	for (long i = 0; i < iterations; i++) {
		for (int b = 0; b < 3; b++)
			for (int j = 0; j < 64; j++)
				buf[b][next() % sizeof(buf[b])] = next();
		unsigned int size = next() % 8 == 0 ? 4096 + next() % 100 : next() % 200;
		for (unsigned int j = 0; j < sizeof(attr); j++)
			attr[j] = next() % 3 == 0 ? next() : next() % 4 == 0 ? 0 : next() % 8;
		/* Plausible pointers where the attributes keep them. */
		for (int off = 8; off + 8 <= 64; off += 8)
			if (next() % 2)
				memcpy(attr + off, &(unsigned long long){ pointer() }, 8);
		int cmd = next() % 40;
		/* Descriptors by id: only of this process's objects. */
		if (cmd == BPF_PROG_GET_FD_BY_ID || cmd == BPF_MAP_GET_FD_BY_ID || cmd == BPF_LINK_GET_FD_BY_ID) {
			unsigned int id;
			memcpy(&id, attr, 4);
			id = id_base + id % 64;
			memcpy(attr, &id, 4);
		}
		void *where = size > sizeof(attr) ? (void *)buf[0] : (void *)attr;
		if (size > sizeof(attr))
			memcpy(buf[0], attr, sizeof(attr));
		/* Half the calls are well-formed attributes with random fields. */
		if (next() % 2) {
			cmd = structured((union bpf_attr *)attr);
			where = attr;
			size = next() % 8 == 0 ? next() % 200 : sizeof(union bpf_attr);
		}
		/* Now and then: a mapping of a descriptor, or epoll on one. */
		if (next() % 16 == 0) {
			size_t len = next() % 4 == 0 ? next() % (1 << 20) : 4096 * (1 + next() % 8);
			int prot = next() % 8, flags = next() % 4 == 0 ? (int)next() & 0xff : MAP_SHARED;
			void *m = mmap(NULL, len, prot, flags & ~MAP_FIXED, some_fd(), 4096 * (next() % 12));
			if (m != MAP_FAILED && len > 0)
				munmap(m, len);
			static int ep = -1;
			if (ep < 0)
				ep = epoll_create1(0);
			struct epoll_event ev = { .events = next(), .data.u64 = next() };
			epoll_ctl(ep, 1 + next() % 3, some_fd(), &ev);
			epoll_wait(ep, &ev, 1, 0);
		}
		long r = syscall(__NR_bpf, cmd, next() % 16 == 0 ? (void *)pointer() : where, size);
		/* A descriptor taken by id may be another's object (the running
		 * scheduler policy's map, when the attribute came from a random
		 * buffer): never kept, never used. */
		if (r > 2 && (cmd == BPF_PROG_GET_FD_BY_ID || cmd == BPF_MAP_GET_FD_BY_ID ||
			      cmd == BPF_LINK_GET_FD_BY_ID)) {
			close(r);
			r = 0;
		}
		if (r >= 0) {
			ok++;
			/* A new descriptor: kept for later calls, the one it replaces closed. */
			if (r > 2 && (cmd == BPF_MAP_CREATE || cmd == BPF_PROG_LOAD || cmd == BPF_OBJ_GET ||
				      cmd == BPF_LINK_CREATE)) {
				int slot = next() % 16;
				if (fds[slot] > 2)
					close(fds[slot]);
				fds[slot] = r;
			}
		} else if (errno > 0 && errno < 600) {
			errors[errno]++;
		}
	}
	/* Everything still open goes, the pins, and what BPF_PROG_ATTACH left
	 * on the tick hook. */
	union bpf_attr detach;
	memset(&detach, 0, sizeof(detach));
	detach.attach_type = 0x1003;
	syscall(__NR_bpf, BPF_PROG_DETACH, &detach, sizeof(detach));
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	for (int p = 0; p < 4; p++)
		unlink(paths[p]);
	printf("bpf-fuzz: %ld calls, %ld succeeded", iterations, ok);
	for (int e = 0; e < 600; e++)
		if (errors[e])
			printf(", errno %d: %ld", e, errors[e]);
	printf("\n");
	return 0;
}
