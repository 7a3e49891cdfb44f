//! The lock around what hook programs share with system calls (a map's
//! contents): a spin lock held with the platform's interrupts off, so a
//! program running in an interrupt handler never spins on a lock its own
//! CPU holds. The kernel registers how to turn interrupts off and back
//! on ([`set_interrupt_control`]); without that (host processes) the
//! lock is a plain spin lock.

use core::ops::{Deref, DerefMut};

/// How the platform turns interrupts off (returning whether they were
/// on) and restores them.
#[derive(Clone, Copy)]
pub struct InterruptControl {
    /// Turns interrupts off; whether they were on.
    pub disable: fn() -> bool,
    /// Turns them back on if the argument says they were.
    pub restore: fn(bool),
}

static CONTROL: spin::Once<InterruptControl> = spin::Once::new();

/// Registers the platform's interrupt control (once, at boot).
pub fn set_interrupt_control(control: InterruptControl) {
    CONTROL.call_once(|| control);
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
        let were_on = CONTROL.get().is_some_and(|c| (c.disable)());
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
        if let Some(c) = CONTROL.get() {
            (c.restore)(self.were_on);
        }
    }
}
