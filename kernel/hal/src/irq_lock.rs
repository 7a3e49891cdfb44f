//! Data shared with interrupt handlers: [`IrqMutex`], a spin lock held
//! with interrupts off on the CPU that holds it, so a handler never spins
//! on a lock its own CPU took; and [`InterruptsOff`], interrupts kept out
//! for a section that holds no lock (reading a per-CPU slot, a context
//! switch). Both give interrupts back as they found them when dropped.
//! On a host build interrupts are never on, and these are plain locks.

use core::ops::{Deref, DerefMut};

/// Interrupts kept out on this CPU for as long as it lives; back on when
/// it goes if they were on when it came.
#[must_use = "interrupts come back on when this is dropped"]
pub struct InterruptsOff {
    were_on: bool,
}

impl InterruptsOff {
    /// Turns interrupts off.
    #[inline]
    pub fn new() -> InterruptsOff {
        InterruptsOff { were_on: crate::disable_interrupts() }
    }

    /// Whether interrupts were on before.
    pub fn were_on(&self) -> bool {
        self.were_on
    }
}

impl Default for InterruptsOff {
    fn default() -> Self {
        InterruptsOff::new()
    }
}

impl Drop for InterruptsOff {
    #[inline]
    fn drop(&mut self) {
        if self.were_on {
            crate::enable_interrupts();
        }
    }
}

/// Runs `f` with interrupts off, then gives them back as they were.
#[inline]
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let _off = InterruptsOff::new();
    f()
}

/// A spin lock whose holder keeps interrupts off on its CPU.
pub struct IrqMutex<T> {
    inner: spin::Mutex<T>,
}

/// An [`IrqMutex`] held: the lock goes first, then interrupts come back.
pub struct IrqGuard<'a, T> {
    // Field order is drop order: unlock, then restore interrupts.
    guard: spin::MutexGuard<'a, T>,
    _off: InterruptsOff,
}

impl<T> IrqMutex<T> {
    /// A lock around `value`.
    pub const fn new(value: T) -> IrqMutex<T> {
        IrqMutex { inner: spin::Mutex::new(value) }
    }

    /// Turns interrupts off, then takes the lock.
    #[inline]
    pub fn lock(&self) -> IrqGuard<'_, T> {
        let off = InterruptsOff::new();
        IrqGuard { guard: self.inner.lock(), _off: off }
    }

    /// Runs `f` on the value with the lock held.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }
}

impl<T: Default> Default for IrqMutex<T> {
    fn default() -> Self {
        IrqMutex::new(T::default())
    }
}

impl<T> Deref for IrqGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for IrqGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_released_by_its_guard() {
        let m = IrqMutex::new(1);
        {
            let mut g = m.lock();
            *g += 1;
            assert!(m.inner.try_lock().is_none(), "held while the guard lives");
        }
        assert_eq!(m.with(|v| *v), 2);
        assert!(m.inner.try_lock().is_some(), "released with the guard");
        assert_eq!(without_interrupts(|| 7), 7);
    }
}
