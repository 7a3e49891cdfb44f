//! Wait queues: tasks sleeping until something happens (data in a ring
//! buffer, a descriptor becoming ready), woken by whoever makes it happen.

use crate::sched::{self, TaskId};
use alloc::vec::Vec;
use axiom_hal as hal;

/// Tasks waiting for one kind of event.
pub struct WaitQueue {
    waiters: spin::Mutex<Vec<TaskId>>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> WaitQueue {
        WaitQueue { waiters: spin::Mutex::new(Vec::new()) }
    }

    fn locked<R>(&self, f: impl FnOnce(&mut Vec<TaskId>) -> R) -> R {
        // Interrupts off: a waker may run in an interrupt handler.
        hal::without_interrupts(|| f(&mut self.waiters.lock()))
    }

    /// Sleeps until `ready()` holds (`true`) or tick `until` passes
    /// (`false`; `None`: no limit). `ready` is checked after the task is
    /// on the queue, so a wake between the check and the sleep is not
    /// lost.
    pub fn wait_until(&self, until: Option<u64>, mut ready: impl FnMut() -> bool) -> bool {
        let me = sched::current();
        loop {
            if ready() {
                return true;
            }
            if until.is_some_and(|t| crate::time::ticks() >= t) {
                return false;
            }
            self.locked(|w| w.push(me));
            let now_ready = ready();
            if !now_ready {
                sched::wait(until);
            }
            self.locked(|w| w.retain(|&t| t != me));
            if now_ready {
                return true;
            }
        }
    }

    /// Wakes every waiting task (each checks its condition again).
    pub fn wake_all(&self) {
        // Lock order: a queue, then the scheduler (never the reverse).
        self.locked(|w| w.iter().for_each(|&id| sched::wake(id)));
    }

    /// Whether any task waits (to skip waking when none does).
    pub fn has_waiters(&self) -> bool {
        self.locked(|w| !w.is_empty())
    }
}
