//! Hook slots: the place where a kernel event runs the BPF program
//! attached to it. A slot holds at most one program, replaced atomically
//! (the next dispatch runs the new one; a dispatch in progress finishes
//! with the old one, which the replacing call then drops), and keeps
//! dispatch statistics: runs, dispatches skipped, and log2 histograms of
//! the time from the event to the program's start and of the program's
//! own run time.
//!
//! Dispatches may come in interrupt context: they never wait. A dispatch
//! that meets a replacement in progress (on its own CPU, or at the same
//! instant on another) runs nothing and is counted as skipped; the caller
//! does what it does when no program is attached.

use crate::object::ProgObject;
use alloc::sync::Arc;
use axiom_abi::uapi::errno::Errno;
use core::sync::atomic::{AtomicU64, Ordering};

/// Buckets of the histograms: bucket `i` counts times in `[2^i, 2^(i+1))`
/// ns (bucket 0 also counts 0 ns).
pub const BUCKETS: usize = axiom_abi::hooks::HISTOGRAM_BUCKETS;

/// What one dispatch did: the program's result and when it ran (the
/// clock the caller gave).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dispatch {
    /// The program's `r0`.
    pub r0: u64,
    /// When it started.
    pub start_ns: u64,
    /// When it returned.
    pub end_ns: u64,
}

/// Who attached a slot's program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A link (`BPF_LINK_CREATE`), by its id; the link detaches it.
    Link(u32),
    /// `BPF_PROG_ATTACH`; `BPF_PROG_DETACH` detaches it.
    Attach,
}

struct Attached {
    prog: Arc<ProgObject>,
    owner: Owner,
}

/// A log2 histogram of nanoseconds.
pub struct Histogram([AtomicU64; BUCKETS]);

impl Histogram {
    const fn new() -> Histogram {
        Histogram([const { AtomicU64::new(0) }; BUCKETS])
    }

    fn record(&self, ns: u64) {
        let bucket = (63 - ns.max(1).leading_zeros() as usize).min(BUCKETS - 1);
        self.0[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts, bucket by bucket.
    pub fn counts(&self) -> [u64; BUCKETS] {
        core::array::from_fn(|i| self.0[i].load(Ordering::Relaxed))
    }
}

/// One hook.
pub struct HookSlot {
    /// The hook's name (`tick`, ...).
    pub name: &'static str,
    /// The program type it runs (`axiom_abi::hooks::prog_type`).
    pub prog_type: u32,
    attached: spin::RwLock<Option<Attached>>,
    runs: AtomicU64,
    skipped: AtomicU64,
    /// From the event to the program's start.
    pub latency: Histogram,
    /// The program's run time.
    pub run_time: Histogram,
    /// Called after the attached program changed (attach, replace,
    /// detach; not [`HookSlot::eject`]), from the system call's context.
    on_change: Option<fn()>,
}

impl HookSlot {
    /// An empty slot for programs of `prog_type`.
    pub const fn new(name: &'static str, prog_type: u32) -> HookSlot {
        HookSlot {
            name,
            prog_type,
            attached: spin::RwLock::new(None),
            runs: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            latency: Histogram::new(),
            run_time: Histogram::new(),
            on_change: None,
        }
    }

    /// An empty slot whose owner runs the program itself (the scheduler
    /// installs a policy around it): `on_change` is told of every change.
    pub const fn with_notify(name: &'static str, prog_type: u32, on_change: fn()) -> HookSlot {
        let mut slot = HookSlot::new(name, prog_type);
        slot.on_change = Some(on_change);
        slot
    }

    /// The attached program.
    pub fn program(&self) -> Option<Arc<ProgObject>> {
        self.attached.read().as_ref().map(|a| a.prog.clone())
    }

    /// Records a dispatch its owner made: event to program start, and the
    /// program's run time.
    pub fn record(&self, latency_ns: u64, run_ns: u64) {
        self.latency.record(latency_ns);
        self.run_time.record(run_ns);
        self.runs.fetch_add(1, Ordering::Relaxed);
    }

    /// Detaches program `id` if it is the one attached, without telling
    /// the owner (which is the one ejecting it); the caller drops the
    /// program where it may. Never waits (the caller may be an interrupt
    /// handler that interrupted a replacement holding the slot): when the
    /// slot is busy it does nothing, as the replacement under way takes
    /// the program out anyway.
    pub fn eject(&self, id: u32) -> Option<Arc<ProgObject>> {
        let mut slot = self.attached.try_write()?;
        if slot.as_ref().is_some_and(|a| a.prog.id == id) {
            slot.take().map(|a| a.prog)
        } else {
            None
        }
    }

    fn changed(&self) {
        if let Some(f) = self.on_change {
            f();
        }
    }

    /// Runs the attached program with `ctx` (its address in `r1`) for an
    /// event at `event_ns` (`now` reads the same clock): what it returned
    /// and when it ran, or `None` when no program ran. Never waits.
    pub fn dispatch(&self, ctx: u64, event_ns: u64, now: impl Fn() -> u64) -> Option<Dispatch> {
        let Some(guard) = self.attached.try_read() else {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let attached = guard.as_ref()?;
        let run = crate::platform::ProgramRun::begin();
        let start_ns = now();
        let r0 = attached.prog.code.run(ctx);
        let end_ns = now();
        drop(run);
        drop(guard);
        self.record(start_ns.saturating_sub(event_ns), end_ns.saturating_sub(start_ns));
        Some(Dispatch { r0, start_ns, end_ns })
    }

    /// Its statistics so far.
    pub fn stats(&self) -> axiom_abi::hooks::HookStats {
        axiom_abi::hooks::HookStats {
            runs: self.runs(),
            skipped: self.skipped(),
            latency: self.latency.counts(),
            run_time: self.run_time.counts(),
        }
    }

    /// Dispatches that ran a program.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Dispatches skipped because a replacement was in progress.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// The attached program's id and its owner.
    pub fn attached(&self) -> Option<(u32, Owner)> {
        self.attached.read().as_ref().map(|a| (a.prog.id, a.owner))
    }

    /// Attaches `prog` for `owner`, atomically replacing what is there:
    /// `EBUSY` if another owner holds the slot (a link holds it alone;
    /// `BPF_PROG_ATTACH` may replace its own); with `expected`, `ENOENT`
    /// unless that program is the one attached. Returns the program it
    /// replaced (to drop outside interrupt context: the caller).
    pub fn attach(
        &self,
        prog: Arc<ProgObject>,
        owner: Owner,
        expected: Option<u32>,
    ) -> Result<Option<Arc<ProgObject>>, Errno> {
        if prog.prog_type != self.prog_type {
            return Err(Errno::EINVAL);
        }
        let mut slot = self.attached.write();
        match slot.as_ref() {
            Some(a) if a.owner != owner => return Err(Errno::EBUSY),
            Some(a) if expected.is_some_and(|id| id != a.prog.id) => return Err(Errno::ENOENT),
            None if expected.is_some() => return Err(Errno::ENOENT),
            _ => {}
        }
        let old = slot.replace(Attached { prog, owner }).map(|a| a.prog);
        drop(slot);
        self.changed();
        Ok(old)
    }

    /// Detaches the program `owner` attached (if `expected`, only that
    /// program): `ENOENT` if there is none.
    pub fn detach(&self, owner: Owner, expected: Option<u32>) -> Result<Arc<ProgObject>, Errno> {
        let mut slot = self.attached.write();
        match slot.as_ref() {
            Some(a) if a.owner == owner && expected.is_none_or(|id| id == a.prog.id) => {}
            _ => return Err(Errno::ENOENT),
        }
        let old = slot.take().map(|a| a.prog).ok_or(Errno::ENOENT);
        drop(slot);
        self.changed();
        old
    }
}
