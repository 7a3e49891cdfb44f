//! Axiom's own BPF hooks in the `bpf()` ABI: their program types, attach
//! types and link type (numbers from 0x1000 up, far from Linux's, so an
//! Axiom-only program or attachment is refused by Linux with `EINVAL`
//! rather than taken for something else), and the context each hook's
//! program receives in `r1` (read-only).
//!
//! Only the timer-tick hook exists so far; the scheduler, IRQ-filter and
//! IIO hooks take the numbers reserved here when they arrive.

/// `BPF_PROG_TYPE_*` values of Axiom's hooks.
pub mod prog_type {
    /// A scheduler policy callback (reserved).
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
    /// The scheduler (reserved).
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
