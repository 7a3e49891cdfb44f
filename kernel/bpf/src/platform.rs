//! What the runtime asks of the platform it runs in, outside a system
//! call (where [`crate::command::Env`] answers): turning interrupts off
//! around a lock that hook programs also take from interrupt handlers,
//! and whether the kernel can spare memory for a map entry a program
//! inserts. The kernel registers them at boot ([`register`]); without
//! that (host processes) locks are plain spin locks and memory is not
//! checked.
//!
//! [`IrqMutex`] is the lock around a map's contents: a spin lock held with
//! interrupts off, so a program running in an interrupt handler never
//! spins on a lock its own CPU holds.

use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The platform's services.
#[derive(Clone, Copy)]
pub struct Platform {
    /// Turns interrupts off; whether they were on.
    pub disable_interrupts: fn() -> bool,
    /// Turns them back on if the argument says they were.
    pub restore_interrupts: fn(bool),
    /// Whether `bytes` more can be allocated for a map entry without
    /// starving the kernel.
    pub memory_ok: fn(usize) -> bool,
    /// The running CPU (its slot in per-CPU maps).
    pub cpu_id: fn() -> usize,
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

/// A spin lock held with interrupts off.
pub struct IrqMutex<T> {
    inner: spin::Mutex<T>,
}

/// Holds an [`IrqMutex`]; interrupts come back on when it goes.
pub struct IrqGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    were_on: bool,
}

impl<T> IrqMutex<T> {
    /// A lock around `value`.
    pub const fn new(value: T) -> IrqMutex<T> {
        IrqMutex { inner: spin::Mutex::new(value) }
    }

    /// Turns interrupts off, then takes the lock.
    pub fn lock(&self) -> IrqGuard<'_, T> {
        let were_on = PLATFORM.get().is_some_and(|p| (p.disable_interrupts)());
        IrqGuard { guard: Some(self.inner.lock()), were_on }
    }
}

impl<T> Deref for IrqGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> DerefMut for IrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for IrqGuard<'_, T> {
    fn drop(&mut self) {
        // The lock first, then interrupts.
        self.guard = None;
        if let Some(p) = PLATFORM.get() {
            (p.restore_interrupts)(self.were_on);
        }
    }
}
