//! The generic timer: the virtual count (CNTVCT_EL0) is the cycle
//! counter, at CNTFRQ_EL0's rate (no calibration needed); the EL1
//! physical timer (CNTP, compare-value mode) is each CPU's tick, with
//! absolute deadlines; the EL1 virtual timer (CNTV) is the periodic
//! device the IRQ hooks are tested on.
#![allow(unsafe_code)]

use super::MAX_CPUS;
use super::cpu::sysreg_read;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// The clock's rates.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    /// Cycle-counter rate, kHz (CNTFRQ_EL0).
    pub tsc_khz: u64,
    /// The tick timer's rate, kHz (the same counter).
    pub lapic_khz: u64,
    /// Where the rate came from.
    pub source: &'static str,
}

/// The virtual count.
pub fn cycles() -> u64 {
    // SAFETY: an `isb` orders the read after earlier instructions, as
    // `rdtsc`'s users expect; reading CNTVCT_EL0 has no side effects.
    unsafe { core::arch::asm!("isb", options(nomem, nostack)) };
    sysreg_read!("cntvct_el0")
}

/// Nothing to open: the counter's rate is architectural.
pub fn start_clock() {}

/// The counter's rate from CNTFRQ_EL0; `None` if firmware left it 0.
pub fn calibrate() -> Option<Calibration> {
    let khz = sysreg_read!("cntfrq_el0") / 1000;
    (khz != 0).then_some(Calibration { tsc_khz: khz, lapic_khz: khz, source: "CNTFRQ_EL0" })
}

fn write_cntp(cval: u64, ctl: u64) {
    // SAFETY: the EL1 physical timer's compare value and control belong to
    // this CPU's tick alone.
    unsafe {
        core::arch::asm!("msr cntp_cval_el0, {}", "msr cntp_ctl_el0, {}", "isb",
            in(reg) cval, in(reg) ctl, options(nomem, nostack))
    };
}

fn write_cntv(cval: u64, ctl: u64) {
    // SAFETY: the EL1 virtual timer is the periodic device's alone.
    unsafe {
        core::arch::asm!("msr cntv_cval_el0, {}", "msr cntv_ctl_el0, {}", "isb",
            in(reg) cval, in(reg) ctl, options(nomem, nostack))
    };
}

static TICK_HANDLER: AtomicUsize = AtomicUsize::new(0);
static TICK_PERIOD: AtomicU64 = AtomicU64::new(0);
/// Each CPU's next deadline and the one its current tick was due at.
static TICK_DEADLINE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static TICK_DUE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// The tick's INTID (from the device tree).
static TICK_INTID: AtomicU64 = AtomicU64::new(super::TICK_VECTOR as u64);

fn tick(_vector: u8) {
    let cpu = super::cpu_index();
    let period = TICK_PERIOD.load(Ordering::Relaxed);
    let deadline = TICK_DEADLINE[cpu].load(Ordering::Relaxed);
    TICK_DUE[cpu].store(deadline, Ordering::Relaxed);
    let now = cycles();
    let mut next = deadline + period;
    if next <= now {
        next = now + period;
    }
    TICK_DEADLINE[cpu].store(next, Ordering::Relaxed);
    write_cntp(next, 1);
    // A stop or mask of the periodic device asked from another CPU.
    if PERIODIC_CPU.load(Ordering::Relaxed) == cpu && PERIODIC_CHANGED.swap(false, Ordering::AcqRel)
    {
        sync_periodic();
    }
    let h = TICK_HANDLER.load(Ordering::Acquire);
    if h != 0 {
        // SAFETY: only `start_tick` stores here, and it stores a `fn()`.
        let handler: fn() = unsafe { core::mem::transmute::<usize, fn()>(h) };
        handler();
    }
}

/// Starts this CPU's tick at `hz` (absolute deadlines on the EL1
/// physical timer), calling `handler` from the interrupt each time;
/// returns the mode: `"cntp-deadline"`.
pub fn start_tick(hz: u64, cal: &Calibration, handler: fn()) -> &'static str {
    let intid = super::MACHINE.get().map_or(super::TICK_VECTOR as u32, |m| m.timer.0);
    TICK_INTID.store(intid as u64, Ordering::Relaxed);
    TICK_HANDLER.store(handler as usize, Ordering::Release);
    super::set_handler(intid as u8, tick);
    let period = cal.tsc_khz * 1000 / hz;
    TICK_PERIOD.store(period, Ordering::Relaxed);
    let first = cycles() + period;
    TICK_DEADLINE[super::cpu_index()].store(first, Ordering::Relaxed);
    write_cntp(first, 1);
    super::gic::enable(intid, true);
    "cntp-deadline"
}

/// When this CPU's current tick was due (cycles). Valid in the tick
/// handler.
pub fn tick_due() -> u64 {
    TICK_DUE[super::cpu_index()].load(Ordering::Relaxed)
}

/// Stops this CPU's tick.
pub fn stop_tick() {
    write_cntp(0, 0);
}

static PERIODIC_ON: AtomicBool = AtomicBool::new(false);
static PERIODIC_MASKED: AtomicBool = AtomicBool::new(false);
static PERIODIC_PERIOD: AtomicU64 = AtomicU64::new(0);
static PERIODIC_NEXT: AtomicU64 = AtomicU64::new(0);
static PERIODIC_CPU: AtomicUsize = AtomicUsize::new(0);
/// A stop or mask asked that the periodic device's CPU has not applied
/// yet (its tick applies it; the tick does nothing otherwise).
static PERIODIC_CHANGED: AtomicBool = AtomicBool::new(false);

/// CNTV_CTL: enabled, and interrupt masked.
const CTL_ENABLE: u64 = 1;
const CTL_IMASK: u64 = 2;

/// Starts the periodic device (the calling CPU's virtual timer, whose
/// interrupt is a private one) at `hz`; `None` stops it. A timer is
/// changed only by its own CPU: another CPU's change (a stop, a mask)
/// reaches it at its next interrupt or tick.
pub fn periodic_irq(hz: Option<u32>) {
    let on = super::disable_interrupts();
    match hz {
        Some(hz) => {
            let khz = calibrate().map_or(1, |c| c.tsc_khz);
            let period = khz * 1000 / hz.max(1) as u64;
            let next = cycles() + period;
            PERIODIC_PERIOD.store(period, Ordering::Relaxed);
            PERIODIC_NEXT.store(next, Ordering::Relaxed);
            PERIODIC_CPU.store(super::cpu_index(), Ordering::Relaxed);
            PERIODIC_ON.store(true, Ordering::Release);
            write_cntv(next, periodic_ctl());
        }
        None => {
            PERIODIC_ON.store(false, Ordering::Release);
            PERIODIC_CHANGED.store(true, Ordering::Release);
            sync_periodic();
        }
    }
    if on {
        super::enable_interrupts();
    }
}

/// The control value the periodic device should have.
fn periodic_ctl() -> u64 {
    if PERIODIC_MASKED.load(Ordering::Acquire) { CTL_ENABLE | CTL_IMASK } else { CTL_ENABLE }
}

/// Masks or unmasks the periodic device's interrupt.
pub fn periodic_mask(masked: bool) {
    PERIODIC_MASKED.store(masked, Ordering::Release);
    PERIODIC_CHANGED.store(true, Ordering::Release);
    let on = super::disable_interrupts();
    sync_periodic();
    if on {
        super::enable_interrupts();
    }
}

/// On the periodic device's CPU, brings its timer in line with the
/// wanted state (off, masked or running); elsewhere, makes sure this
/// CPU's virtual timer is off.
fn sync_periodic() {
    let mine = PERIODIC_CPU.load(Ordering::Relaxed) == super::cpu_index();
    if PERIODIC_ON.load(Ordering::Acquire) && mine {
        write_cntv(PERIODIC_NEXT.load(Ordering::Relaxed), periodic_ctl());
    } else {
        write_cntv(0, 0);
    }
}

/// Acknowledges the periodic device's interrupt (sets the next
/// deadline); its state: 1 for a periodic interrupt, 0 for one from a
/// timer that was stopped or moved to another CPU (now off).
pub fn periodic_ack() -> u64 {
    if !PERIODIC_ON.load(Ordering::Acquire)
        || PERIODIC_CPU.load(Ordering::Relaxed) != super::cpu_index()
    {
        write_cntv(0, 0);
        return 0;
    }
    let period = PERIODIC_PERIOD.load(Ordering::Relaxed);
    let now = cycles();
    let mut next = PERIODIC_NEXT.load(Ordering::Relaxed) + period;
    if next <= now {
        next = now + period;
    }
    PERIODIC_NEXT.store(next, Ordering::Relaxed);
    write_cntv(next, periodic_ctl());
    1
}
