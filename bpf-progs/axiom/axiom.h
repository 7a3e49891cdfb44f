/* Axiom's hooks for BPF programs: the contexts and constants of
 * `abi/src/hooks.rs` (docs/abi.md), with libbpf's helper definitions. */
#ifndef AXIOM_HOOKS_H
#define AXIOM_HOOKS_H
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Scheduler callbacks (struct axiom_sched_ctx.op). */
#define AXIOM_SELECT_CPU 0
#define AXIOM_ENQUEUE 1
#define AXIOM_DISPATCH 2
#define AXIOM_RUNNING 3
#define AXIOM_STOPPING 4
#define AXIOM_TICK 5
#define AXIOM_INIT 6
#define AXIOM_OP(op) (1u << (op))

/* A scheduler program's context: read-only but for slice_ns. */
struct axiom_sched_ctx {
	__u32 op;
	__u32 cpu;
	__u32 task;
	__u32 prev_cpu;
	__u32 online;
	__u32 runnable;
	__u32 priority;
	__u32 reserved;
	__u64 now_ns;
	__u64 slice_ns;
};

/* A timer-tick program's context (read-only). */
struct axiom_tick_ctx {
	__u64 entry_ns;
	__u64 dispatch_ns;
	__u64 tick;
	__u32 cpu;
	__u32 reserved;
	__u64 deadline_ns;
};
/* IRQ-filter verdicts. */
#define AXIOM_IRQ_HANDLE 0
#define AXIOM_IRQ_DROP 1
#define AXIOM_IRQ_DEFER 2
#define AXIOM_IRQ_RATE_LIMIT 3

/* An IRQ filter's context (read-only). */
struct axiom_irq_ctx {
	__u32 line;
	__u32 cpu;
	__u64 entry_ns;
	__u64 state;
	__u64 count;
};

/* IIO scan filters (SEC("axiom/iio")): return AXIOM_IIO_KEEP to keep the
 * scan (with the values as the program left them), AXIOM_IIO_DROP to
 * drop it. Only values[] is writable. */
#define AXIOM_IIO_DROP 0
#define AXIOM_IIO_KEEP 1
#define AXIOM_IIO_CHANNELS 4

struct axiom_iio_ctx {
	__u32 device;
	__u32 channels;
	__u64 timestamp_ns;
	__u64 seq;
	/* accel x, y, z in milli-g; temperature in milli-degrees Celsius */
	__s32 values[AXIOM_IIO_CHANNELS];
};
#endif
