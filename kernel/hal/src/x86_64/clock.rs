//! The clock: the time-stamp counter, calibrated at boot against a
//! reference every PC machine QEMU offers has, the 8254 PIT (channel 0,
//! whose gate is always open; its counter is read back with a latch
//! command, so no interrupt is needed). The window opens early in boot
//! and closes once the boot's work is done, so calibration costs no
//! waiting of its own. `microvm` under TCG has no HPET
//! and no ACPI PM timer, but it has the PIT. CPUID leaf 0x15, where the
//! CPU fills it in completely, is used instead. The local APIC timer's
//! rate is measured in the same window.

use super::{apic, port};

/// The PIT's input clock.
const PIT_HZ: u64 = 1_193_182;
/// The shortest calibration window, in PIT ticks (1 ms: each end's error
/// is one bracketed port read, well under a microsecond, so the rate is
/// good to about 0.1%; the usual window, the boot itself, is longer).
const WINDOW: u64 = PIT_HZ / 1000;

/// What calibration found.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    /// Time-stamp counter rate, kHz.
    pub tsc_khz: u64,
    /// Local APIC timer rate (divide-by-16), kHz.
    pub lapic_khz: u64,
    /// The reference used: `"cpuid 0x15"` or `"pit"`.
    pub source: &'static str,
}

fn pit_count() -> u16 {
    port::outb(0x43, 0x00); // latch channel 0
    let lo = port::inb(0x40) as u16;
    let hi = port::inb(0x40) as u16;
    hi << 8 | lo
}

/// A PIT reading bracketed by two TSC reads: (PIT count, TSC midpoint,
/// bracket width).
fn bracketed() -> (u16, u64, u64) {
    let a = port::rdtsc();
    let p = pit_count();
    let b = port::rdtsc();
    (p, a + (b - a) / 2, b - a)
}

/// The tightest of a few bracketed readings (a port read can stall, for
/// instance behind the emulator's I/O lock): (PIT count, TSC midpoint).
fn sample() -> (u16, u64) {
    let best = (0..4).map(|_| bracketed()).min_by_key(|s| s.2).expect("four samples");
    (best.0, best.1)
}

/// An APIC timer reading bracketed by two TSC reads.
fn lapic_sample() -> (u32, u64) {
    let a = port::rdtsc();
    let l = apic::timer_current();
    let b = port::rdtsc();
    (l, a + (b - a) / 2)
}

/// The TSC rate from CPUID leaf 0x15 (crystal ratio and frequency), if
/// the CPU reports both.
fn cpuid_tsc_khz() -> Option<u64> {
    let max = core::arch::x86_64::__cpuid(0).eax;
    if max < 0x15 {
        return None;
    }
    // Leaf 0x15 is within the maximum leaf checked above.
    let r = core::arch::x86_64::__cpuid(0x15);
    (r.eax != 0 && r.ebx != 0 && r.ecx != 0)
        .then(|| r.ecx as u64 * r.ebx as u64 / r.eax as u64 / 1000)
}

/// Where the reference window opened: (PIT count, TSC), if it did.
static WINDOW_START: spin::Mutex<Option<(u16, u64)>> = spin::Mutex::new(None);

/// The longest window that cannot hide a PIT wrap (65,536 ticks, 55 ms)
/// at any TSC of at least 500 MHz.
const NO_WRAP_CYCLES: u64 = 27_000_000;

/// Opens the reference window: the PIT counting (channel 0, mode 2,
/// reload 65,536) and a first bracketed sample. Called early in boot, so
/// that the boot's own work fills the window that [`calibrate`] closes.
pub fn begin() {
    port::outb(0x43, 0x34);
    port::outb(0x40, 0);
    port::outb(0x40, 0);
    *WINDOW_START.lock() = Some(sample());
}

/// Measures the TSC rate against the PIT over the window [`begin`] opened
/// (re-opened, and waited for, if it is too short or too long), then the
/// local APIC timer's rate against the TSC over 200 µs; `None` if the PIT
/// does not count (no reference found).
pub fn calibrate() -> Option<Calibration> {
    let start = *WINDOW_START.lock();
    let (mut p0, mut t0) = match start {
        Some(s) if port::rdtsc() - s.1 < NO_WRAP_CYCLES => s,
        _ => {
            begin();
            WINDOW_START.lock().expect("window just opened")
        }
    };
    let limit = t0 + (1u64 << 34);
    let tsc_khz = loop {
        let (p, t) = sample();
        let elapsed = p0.wrapping_sub(p) as u64;
        if t - t0 >= NO_WRAP_CYCLES {
            begin();
            (p0, t0) = WINDOW_START.lock().expect("window just opened");
            continue;
        }
        if elapsed >= WINDOW {
            break (t - t0) * PIT_HZ / elapsed / 1000;
        }
        if t > limit {
            return None;
        }
    };
    apic::timer_count_down();
    let (l0, u0) = lapic_sample();
    let until = u0 + tsc_khz / 5;
    while port::rdtsc() < until {
        core::hint::spin_loop();
    }
    let (l1, u1) = lapic_sample();
    apic::timer_stop();
    let lapic_khz = (l0 - l1) as u64 * tsc_khz / (u1 - u0).max(1);
    Some(match cpuid_tsc_khz() {
        Some(khz) => Calibration { tsc_khz: khz, lapic_khz, source: "cpuid 0x15" },
        None => Calibration { tsc_khz, lapic_khz, source: "pit" },
    })
}
