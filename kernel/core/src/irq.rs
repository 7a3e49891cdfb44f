//! Interrupt lines with drivers, and the BPF filter each line may have.
//!
//! A driver acknowledges its device (reading the state a filter may look
//! at) and handles an interrupt. When a filter is attached to the line
//! (`BPF_LINK_CREATE` with `AXIOM_IRQ` and the line as target), each
//! interrupt first runs it with a `struct axiom_irq_ctx`; its verdict
//! (`axiom_abi::hooks::irq_verdict`) says what happens: handle now, drop,
//! defer to the `irq-defer` kernel thread, or drop and mask the line for
//! 10 ms. Every verdict is counted per line; the counts are published
//! with the hooks' statistics.
//!
//! One line has a driver today: the CMOS real-time clock's (IRQ 8),
//! whose periodic interrupt (up to 8192 Hz) is a storm on demand.

use crate::wait::WaitQueue;
use axiom_abi::hooks::{IrqCtx, hook_index, irq_verdict, prog_type};
use axiom_bpf::hook::HookSlot;
use axiom_hal as hal;
use core::sync::atomic::{AtomicU64, Ordering};

/// Interrupt lines (ISA IRQs).
pub const LINES: usize = 16;
/// How long `RATE_LIMIT` masks a line, in ticks.
pub const RATE_LIMIT_TICKS: u64 = 10;

/// Each line's filter hook.
pub static SLOTS: [HookSlot; LINES] = [const { HookSlot::new("irq", prog_type::AXIOM_IRQ) }; LINES];

/// What a line's driver does.
#[derive(Clone, Copy)]
pub struct Driver {
    /// Acknowledges the device; its state for the filter.
    pub ack: fn() -> u64,
    /// Handles one interrupt (now, or later in the `irq-defer` thread).
    pub handle: fn(u64),
}

/// A line's counters.
struct Line {
    /// Interrupts seen.
    count: AtomicU64,
    /// Verdicts: handle, drop, defer, rate-limit, other.
    verdicts: [AtomicU64; irq_verdict::COUNTED],
    /// Deferred interrupts not handled yet.
    deferred: AtomicU64,
    /// The tick until which the line stays masked (0: not masked).
    masked_until: AtomicU64,
}

static LINE: [Line; LINES] = [const {
    Line {
        count: AtomicU64::new(0),
        verdicts: [const { AtomicU64::new(0) }; irq_verdict::COUNTED],
        deferred: AtomicU64::new(0),
        masked_until: AtomicU64::new(0),
    }
}; LINES];

/// The registered drivers.
static DRIVERS: spin::Once<[Option<Driver>; LINES]> = spin::Once::new();
/// The `irq-defer` thread waits here.
static DEFERRED: WaitQueue = WaitQueue::new();

/// The drivers the kernel has: the periodic device's (x86-64: the CMOS
/// RTC; arm64: the EL1 virtual timer).
fn drivers() -> &'static [Option<Driver>; LINES] {
    DRIVERS.call_once(|| {
        let mut d = [None; LINES];
        d[hal::PERIODIC_IRQ as usize] =
            Some(Driver { ack: || hal::periodic_ack() as u64, handle: periodic_tick });
        d
    })
}

/// Periodic-device interrupts handled (its driver's work).
pub static PERIODIC_HANDLED: AtomicU64 = AtomicU64::new(0);

fn periodic_tick(_state: u64) {
    PERIODIC_HANDLED.fetch_add(1, Ordering::Relaxed);
}

/// Routes every line that has a driver to its handler and starts the
/// `irq-defer` thread (at boot, after the scheduler).
pub fn init() {
    for (line, driver) in drivers().iter().enumerate() {
        if driver.is_some() {
            hal::set_handler(hal::irq_vector(line as u8), on_interrupt);
            hal::route_irq(line as u8);
        }
    }
    crate::sched::spawn("irq-defer", defer_thread);
}

/// Whether line `line` has a driver (and so may have a filter).
pub fn has_driver(line: u32) -> bool {
    drivers().get(line as usize).is_some_and(Option::is_some)
}

fn on_interrupt(vector: u8) {
    let entry = hal::cycles();
    let Some(line) = hal::irq_line(vector) else { return };
    let line = line as usize;
    let Some(Some(driver)) = drivers().get(line) else { return };
    let state = (driver.ack)();
    let l = &LINE[line];
    let count = l.count.fetch_add(1, Ordering::Relaxed) + 1;
    let ns = crate::time::cycles_to_ns;
    let ctx = IrqCtx {
        line: line as u32,
        cpu: hal::cpu_index() as u32,
        entry_ns: ns(entry),
        state,
        count,
    };
    let verdict = match SLOTS[line]
        .dispatch(&ctx as *const IrqCtx as u64, ctx.entry_ns, || ns(hal::cycles()))
    {
        Some(d) => {
            crate::hook_trace::trace(hook_index::IRQ, line as u32, ctx.entry_ns, &d);
            d.r0
        }
        None => irq_verdict::HANDLE,
    };
    let counted = (verdict as usize).min(irq_verdict::COUNTED - 1);
    l.verdicts[counted].fetch_add(1, Ordering::Relaxed);
    match verdict {
        irq_verdict::DROP => {}
        irq_verdict::DEFER => {
            l.deferred.fetch_add(1, Ordering::Relaxed);
        }
        irq_verdict::RATE_LIMIT => {
            l.masked_until.store(crate::time::ticks() + RATE_LIMIT_TICKS, Ordering::Relaxed);
            hal::mask_irq(line as u8);
        }
        _ => (driver.handle)(state),
    }
}

/// On CPU 0's ticks: unmasks rate-limited lines whose time is up, and
/// wakes the `irq-defer` thread when work waits.
pub fn tick(now: u64) {
    let mut deferred = false;
    for (line, l) in LINE.iter().enumerate() {
        let until = l.masked_until.load(Ordering::Relaxed);
        if until != 0 && now >= until {
            l.masked_until.store(0, Ordering::Relaxed);
            hal::route_irq(line as u8);
        }
        deferred |= l.deferred.load(Ordering::Relaxed) != 0;
    }
    if deferred {
        DEFERRED.wake_all();
    }
}

/// The thread that handles deferred interrupts.
fn defer_thread() {
    loop {
        DEFERRED.wait_until(None, || LINE.iter().any(|l| l.deferred.load(Ordering::Relaxed) != 0));
        for (line, l) in LINE.iter().enumerate() {
            let n = l.deferred.swap(0, Ordering::Relaxed);
            if let Some(Some(driver)) = drivers().get(line) {
                for _ in 0..n {
                    (driver.handle)(0);
                }
            }
        }
    }
}

/// Line `line`'s verdict counts (handle, drop, defer, rate-limit, other)
/// and interrupts seen.
pub fn counts(line: usize) -> ([u64; irq_verdict::COUNTED], u64) {
    let l = &LINE[line];
    (
        core::array::from_fn(|i| l.verdicts[i].load(Ordering::Relaxed)),
        l.count.load(Ordering::Relaxed),
    )
}
