//! Axiom's own BPF hooks in the `bpf()` ABI: their program types, attach
//! types and link type (numbers from 0x1000 up, far from Linux's, so an
//! Axiom-only program or attachment is refused by Linux with `EINVAL`
//! rather than taken for something else), and the context each hook's
//! program receives in `r1` (read-only).
//!
//! The timer-tick and scheduler hooks exist; the IRQ-filter and IIO
//! hooks take the numbers reserved here when they arrive.

/// `BPF_PROG_TYPE_*` values of Axiom's hooks.
pub mod prog_type {
    /// A scheduler policy: one program answers every callback, told which
    /// by [`SchedCtx::op`](super::SchedCtx).
    pub const AXIOM_SCHED: u32 = 0x1000;
    /// An interrupt-line filter (reserved).
    pub const AXIOM_IRQ: u32 = 0x1001;
    /// An IIO scan filter (reserved).
    pub const AXIOM_IIO: u32 = 0x1002;
    /// A timer-tick program: runs on every tick of every CPU with a
    /// [`TickCtx`](super::TickCtx).
    pub const AXIOM_TICK: u32 = 0x1003;
}

/// `BPF_*` attach types of Axiom's hooks (the same numbers as their
/// program types).
pub mod attach_type {
    /// The scheduler (`target_fd` 0).
    pub const AXIOM_SCHED: u32 = 0x1000;
    /// An interrupt line, `target_fd` its number (reserved).
    pub const AXIOM_IRQ: u32 = 0x1001;
    /// An IIO device, `target_fd` its index (reserved).
    pub const AXIOM_IIO: u32 = 0x1002;
    /// The timer tick (`target_fd` 0).
    pub const AXIOM_TICK: u32 = 0x1003;
}

/// `BPF_LINK_TYPE_*` of a link to an Axiom hook.
pub const LINK_TYPE_AXIOM_HOOK: u32 = 0x1000;

/// What a timer-tick program receives: `struct axiom_tick_ctx`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TickCtx {
    /// The interrupt's entry, ns since boot (the cycle counter).
    pub entry_ns: u64,
    /// When the program was called, ns since boot.
    pub dispatch_ns: u64,
    /// Ticks counted so far (CPU 0's, the system's time).
    pub tick: u64,
    /// The CPU the tick came to.
    pub cpu: u32,
    /// Zero.
    pub reserved: u32,
}

const _: () = assert!(core::mem::size_of::<TickCtx>() == 32);
const _: () = assert!(core::mem::offset_of!(TickCtx, tick) == 16);
const _: () = assert!(core::mem::offset_of!(TickCtx, cpu) == 24);

/// The scheduler callbacks (`SchedCtx::op`), modelled on Linux's
/// `sched_ext` operations.
pub mod sched_op {
    /// Pick a CPU for a task that woke up or is new; return the CPU.
    pub const SELECT_CPU: u32 = 0;
    /// A task became runnable on `cpu`: keep it (in the program's maps)
    /// until it is dispatched. The return value is ignored.
    pub const ENQUEUE: u32 = 1;
    /// `cpu` needs a task: return its id (0: nothing, the CPU idles) and
    /// set `slice_ns` (0 keeps the default slice).
    pub const DISPATCH: u32 = 2;
    /// `task` starts running on `cpu`.
    pub const RUNNING: u32 = 3;
    /// `task` stops running on `cpu`; `runnable`: it will be enqueued again.
    pub const STOPPING: u32 = 4;
    /// A tick while `task` runs on `cpu`: return non-zero to preempt it.
    pub const TICK: u32 = 5;
}

/// What a scheduler program receives: `struct axiom_sched_ctx`. Every
/// field is read-only except `slice_ns`, which `DISPATCH` sets.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedCtx {
    /// Which callback ([`sched_op`]).
    pub op: u32,
    /// The CPU it is about.
    pub cpu: u32,
    /// The task it is about (0 for `DISPATCH`).
    pub task: u32,
    /// `SELECT_CPU`: the CPU the task last ran on.
    pub prev_cpu: u32,
    /// CPUs online (CPU numbers are below it).
    pub online: u32,
    /// `STOPPING`: whether the task stays runnable.
    pub runnable: u32,
    /// The task's priority (0 lowest; the kernel's tasks say theirs).
    pub priority: u32,
    /// Zero.
    pub reserved: u32,
    /// When the callback was made, ns since boot.
    pub now_ns: u64,
    /// `DISPATCH`: the dispatched task's time slice in ns (written by the
    /// program; 0 means the default).
    pub slice_ns: u64,
}

const _: () = assert!(core::mem::size_of::<SchedCtx>() == 48);
const _: () = assert!(core::mem::offset_of!(SchedCtx, now_ns) == 32);
const _: () = assert!(core::mem::offset_of!(SchedCtx, slice_ns) == 40);
