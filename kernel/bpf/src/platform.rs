//! What the runtime asks of the platform it runs in, outside a system
//! call (where [`crate::env::Env`] answers), mostly for the helpers
//! programs call: whether the kernel can spare memory for a map entry a
//! program inserts, the running CPU, the clock, waking ring-buffer
//! readers, and where `bpf_trace_printk` writes. The kernel registers
//! them at boot ([`register`]); without that (a host process) memory is
//! not checked, the CPU is 0, the clock is the process's monotonic clock
//! (none without the `host` feature), nobody waits and traces go nowhere.
//!
//! [`IrqMutex`] (hal's) is the lock around a map's contents: a spin lock
//! held with interrupts off, so a program running in an interrupt handler
//! never spins on a lock its own CPU holds (a plain lock in a host
//! process).

pub use axiom_hal::{IrqGuard, IrqMutex};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The platform's services.
#[derive(Clone, Copy)]
pub struct Platform {
    /// Whether `bytes` more can be allocated for a map entry without
    /// starving the kernel.
    pub memory_ok: fn(usize) -> bool,
    /// The running CPU (its slot in per-CPU maps).
    pub cpu_id: fn() -> usize,
    /// A monotonic clock, nanoseconds (`bpf_ktime_get_ns`).
    pub now_ns: fn() -> u64,
    /// Wakes readers waiting for ring-buffer data (soon: a program may
    /// commit with scheduler locks held).
    pub wake_readers: fn(),
    /// Writes one `bpf_trace_printk` message.
    pub trace: fn(&[u8]),
}

static PLATFORM: spin::Once<Platform> = spin::Once::new();

/// Registers the platform's services (once, at boot).
pub fn register(platform: Platform) {
    PLATFORM.call_once(|| platform);
}

/// The running CPU (0 without a platform).
pub fn cpu_id() -> usize {
    PLATFORM.get().map_or(0, |p| (p.cpu_id)())
}

/// The platform's clock, ns.
pub fn now_ns() -> u64 {
    match PLATFORM.get() {
        Some(p) => (p.now_ns)(),
        None => host_clock(),
    }
}

#[cfg(feature = "host")]
fn host_clock() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

#[cfg(not(feature = "host"))]
fn host_clock() -> u64 {
    0
}

/// Wakes ring-buffer readers if `wake` says a commit should.
pub fn wake_readers(wake: bool) {
    if let (true, Some(p)) = (wake, PLATFORM.get()) {
        (p.wake_readers)();
    }
}

/// Writes a `bpf_trace_printk` message.
pub fn trace(message: &[u8]) {
    if let Some(p) = PLATFORM.get() {
        (p.trace)(message);
    }
}

/// Whether a program may allocate `bytes` more for a map entry.
pub fn memory_ok(bytes: usize) -> bool {
    PLATFORM.get().is_none_or(|p| (p.memory_ok)(bytes))
}

/// Program runs in progress anywhere (test runs, hook dispatches).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A program run in progress, for as long as it lives: while any is,
/// map values deleted earlier are kept (a running program may hold one),
/// as Linux keeps them until an RCU grace period ends.
pub struct ProgramRun(());

impl ProgramRun {
    /// A run begins.
    pub fn begin() -> ProgramRun {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        ProgramRun(())
    }
}

impl Drop for ProgramRun {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a program may be running somewhere now.
pub fn programs_running() -> bool {
    RUNNING.load(Ordering::SeqCst) != 0
}
