//! Axiom's own BPF hooks in the `bpf()` ABI: their program types, attach
//! types and link type (numbers from 0x1000 up, far from Linux's, so an
//! Axiom-only program or attachment is refused by Linux with `EINVAL`
//! rather than taken for something else), and the context each hook's
//! program receives in `r1` (read-only).
//!
//! The hooks: the timer tick, the scheduler, IRQ filters and IIO scan
//! filters.

/// `BPF_PROG_TYPE_*` values of Axiom's hooks.
pub mod prog_type {
    /// A scheduler policy: one program answers every callback, told which
    /// by [`SchedCtx::op`](super::SchedCtx).
    pub const AXIOM_SCHED: u32 = 0x1000;
    /// An interrupt-line filter: runs on each interrupt of the line it
    /// is attached to, with an [`IrqCtx`](super::IrqCtx), and returns an
    /// [`irq_verdict`](super::irq_verdict).
    pub const AXIOM_IRQ: u32 = 0x1001;
    /// An IIO scan filter.
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
    /// An interrupt line, `target_fd` its number (ISA IRQ 0-15; a line
    /// with a driver: the RTC's, 8).
    pub const AXIOM_IRQ: u32 = 0x1001;
    /// An IIO device, `target_fd` its index.
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
    /// When the timer was due, ns since boot (its TSC deadline, or when
    /// the periodic counter reloaded): the programmed time the interrupt
    /// answers.
    pub deadline_ns: u64,
}

const _: () = assert!(core::mem::size_of::<TickCtx>() == 40);
const _: () = assert!(core::mem::offset_of!(TickCtx, tick) == 16);
const _: () = assert!(core::mem::offset_of!(TickCtx, cpu) == 24);

/// What an IRQ filter returns.
pub mod irq_verdict {
    /// Run the line's handler now.
    pub const HANDLE: u64 = 0;
    /// Drop the interrupt (the device was acknowledged; nothing else runs).
    pub const DROP: u64 = 1;
    /// Run the handler later, in a kernel thread.
    pub const DEFER: u64 = 2;
    /// Drop it and mask the line for 10 ms.
    pub const RATE_LIMIT: u64 = 3;
    /// Verdicts counted per line: the four, and anything else (treated
    /// as `HANDLE`).
    pub const COUNTED: usize = 5;
}

/// What an IRQ filter receives: `struct axiom_irq_ctx` (read-only).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IrqCtx {
    /// The interrupt line.
    pub line: u32,
    /// The CPU it came to.
    pub cpu: u32,
    /// The handler's entry, ns since boot.
    pub entry_ns: u64,
    /// The device's state, read when it was acknowledged (the RTC: its
    /// register C, bit 6 periodic).
    pub state: u64,
    /// Interrupts on this line so far, this one included.
    pub count: u64,
}

const _: () = assert!(core::mem::size_of::<IrqCtx>() == 32);

/// What an IIO filter returns for a scan.
pub mod iio_verdict {
    /// Drop the scan.
    pub const DROP: u64 = 0;
    /// Keep it (with the values as the program left them) in the buffer.
    pub const KEEP: u64 = 1;
}

/// Channels in one IIO scan, at most.
pub const IIO_CHANNELS: usize = 4;

/// What an IIO filter receives: `struct axiom_iio_ctx`, one scan of a
/// device; the program may rewrite `values` (only they are writable).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IioCtx {
    /// The device's index (`/dev/iio:deviceN`).
    pub device: u32,
    /// Channels in the scan (`values[..channels]`).
    pub channels: u32,
    /// When the scan was taken, ns since boot.
    pub timestamp_ns: u64,
    /// The scan's number since boot (the device's count, kept or not).
    pub seq: u64,
    /// The channels' values in their units (the accelerometer's x, y, z
    /// in milli-g, its temperature in milli-degrees Celsius).
    pub values: [i32; IIO_CHANNELS],
}

const _: () = assert!(core::mem::size_of::<IioCtx>() == 40);

/// A scan as `/dev/iio:deviceN` gives it, Linux's buffer layout for four
/// `le:s32/32>>0` channels and a timestamp: the values, then the `s64`
/// timestamp in ns, 24 bytes.
pub const IIO_SCAN_BYTES: usize = 24;

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
    /// Once, when the policy is installed: return a bit mask of the
    /// operations it handles (`1 << op`), or 0 for all. Operations left
    /// out are not called (`SELECT_CPU` left out keeps a task's last CPU;
    /// `ENQUEUE` and `DISPATCH` are always called).
    pub const INIT: u32 = 6;
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

/// Where the kernel publishes its hooks' statistics and events for user
/// space (`axbpf trace`), pinned in the BPF file system.
pub mod paths {
    /// An array map: key the hook's [`HookIndex`](super::hook_index), value
    /// a [`HookStats`](super::HookStats), refreshed every 10 ms.
    pub const STATS: &str = "/sys/fs/bpf/axiom/hook_stats";
    /// A ring buffer of [`HookEvent`](super::HookEvent)s, one per dispatch
    /// while tracing is on.
    pub const EVENTS: &str = "/sys/fs/bpf/axiom/events";
    /// An array map: key the interrupt line, value its verdict counts
    /// (`u64` each: handle, drop, defer, rate-limit, other), refreshed
    /// every 10 ms.
    pub const IRQ_VERDICTS: &str = "/sys/fs/bpf/axiom/irq_verdicts";
    /// An array map of one `u32`: non-zero turns tracing on.
    pub const TRACE: &str = "/sys/fs/bpf/axiom/trace";
}

/// The hooks' numbers in the statistics map and in events.
pub mod hook_index {
    /// The scheduler.
    pub const SCHED: u32 = 0;
    /// The timer tick.
    pub const TICK: u32 = 1;
    /// Interrupt lines (reserved).
    pub const IRQ: u32 = 2;
    /// IIO devices.
    pub const IIO: u32 = 3;
    /// Their names, by number.
    pub const NAMES: [&str; 4] = ["sched", "tick", "irq", "iio"];
}

/// Buckets of the statistics' log2 histograms: bucket `i` counts times in
/// `[2^i, 2^(i+1))` ns (bucket 0 also counts 0).
pub const HISTOGRAM_BUCKETS: usize = 40;

/// One hook's statistics, as the statistics map holds them
/// (`struct axiom_hook_stats`, 656 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookStats {
    /// Dispatches that ran a program.
    pub runs: u64,
    /// Dispatches that ran nothing because a replacement was under way.
    pub skipped: u64,
    /// From the event (interrupt entry, scheduling point) to the
    /// program's first instruction.
    pub latency: [u64; HISTOGRAM_BUCKETS],
    /// The program's run time.
    pub run_time: [u64; HISTOGRAM_BUCKETS],
}

const _: () = assert!(core::mem::size_of::<HookStats>() == 656);

impl HookStats {
    /// Its bytes, as the map stores them (little-endian `u64`s).
    pub fn to_bytes(&self) -> [u8; 656] {
        let mut out = [0u8; 656];
        let words = [self.runs, self.skipped].into_iter().chain(self.latency).chain(self.run_time);
        for (i, w) in words.enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Read from the map's bytes (656 of them).
    pub fn from_bytes(b: &[u8]) -> HookStats {
        let word =
            |i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap_or_default());
        HookStats {
            runs: word(0),
            skipped: word(1),
            latency: core::array::from_fn(|i| word(2 + i)),
            run_time: core::array::from_fn(|i| word(2 + HISTOGRAM_BUCKETS + i)),
        }
    }
}

/// One traced dispatch (`struct axiom_hook_event`, 48 bytes), as the
/// events ring buffer carries it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HookEvent {
    /// The event: interrupt entry or scheduling point, ns since boot.
    pub event_ns: u64,
    /// The program's start.
    pub start_ns: u64,
    /// The program's return.
    pub end_ns: u64,
    /// What it returned.
    pub ret: u64,
    /// Which hook ([`hook_index`]).
    pub hook: u32,
    /// The CPU.
    pub cpu: u32,
    /// The scheduler's operation ([`sched_op`]); 0 for other hooks.
    pub op: u32,
    /// Zero.
    pub reserved: u32,
}

const _: () = assert!(core::mem::size_of::<HookEvent>() == 48);

impl HookEvent {
    /// Its bytes, little-endian.
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut out = [0u8; 48];
        for (i, w) in [self.event_ns, self.start_ns, self.end_ns, self.ret].iter().enumerate() {
            out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
        }
        for (i, w) in [self.hook, self.cpu, self.op, self.reserved].iter().enumerate() {
            out[32 + 4 * i..36 + 4 * i].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Read from 48 bytes.
    pub fn from_bytes(b: &[u8]) -> HookEvent {
        let q = |i: usize| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap_or_default());
        let d =
            |i: usize| u32::from_le_bytes(b[32 + 4 * i..36 + 4 * i].try_into().unwrap_or_default());
        HookEvent {
            event_ns: q(0),
            start_ns: q(1),
            end_ns: q(2),
            ret: q(3),
            hook: d(0),
            cpu: d(1),
            op: d(2),
            reserved: d(3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_events_round_trip_through_bytes() {
        let mut s = HookStats { runs: 7, skipped: 1, latency: [0; 40], run_time: [0; 40] };
        s.latency[3] = 5;
        s.run_time[39] = 9;
        assert_eq!(HookStats::from_bytes(&s.to_bytes()), s);
        let e = HookEvent {
            event_ns: 1,
            start_ns: 2,
            end_ns: 3,
            ret: 4,
            hook: 1,
            cpu: 2,
            op: 5,
            reserved: 0,
        };
        assert_eq!(HookEvent::from_bytes(&e.to_bytes()), e);
        assert_eq!(&e.to_bytes()[32..36], &1u32.to_le_bytes());
    }
}
