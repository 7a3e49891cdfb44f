//! The local APIC (xAPIC, memory-mapped: its timer, end-of-interrupt and
//! inter-processor interrupts) and the I/O APIC (external interrupt
//! lines). Both are reached at their physical addresses, which the kernel
//! maps uncached ([`super::device_ranges`]) before [`enable`] runs.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

static LAPIC: AtomicU64 = AtomicU64::new(0);
static IOAPIC: AtomicU64 = AtomicU64::new(0);

const TPR: u64 = 0x80;
const EOI: u64 = 0xb0;
const SVR: u64 = 0xf0;
const ICR_LOW: u64 = 0x300;
const ICR_HIGH: u64 = 0x310;
const LVT_TIMER: u64 = 0x320;
const TIMER_INITIAL: u64 = 0x380;
const TIMER_CURRENT: u64 = 0x390;
const TIMER_DIVIDE: u64 = 0x3e0;

/// The vector of spurious local-APIC interrupts (ignored).
pub const SPURIOUS_VECTOR: u8 = 0xff;

fn lapic_ptr(reg: u64) -> *mut u32 {
    let base = LAPIC.load(Ordering::Relaxed);
    assert!(base != 0, "local APIC used before it was found");
    (base + reg) as *mut u32
}

fn read(reg: u64) -> u32 {
    // SAFETY: an aligned register of the local APIC's page, which the
    // kernel mapped uncached; reads have no memory side effects.
    unsafe { lapic_ptr(reg).read_volatile() }
}

fn write(reg: u64, value: u32) {
    // SAFETY: as in `read`; the register is one of this module's.
    unsafe { lapic_ptr(reg).write_volatile(value) }
}

/// The boot CPU's local APIC id (from CPUID; no MMIO needed).
pub fn boot_apic_id() -> u32 {
    let r = core::arch::x86_64::__cpuid(1);
    r.ebx >> 24
}

/// Whether the CPU has the TSC-deadline timer mode.
pub fn has_tsc_deadline() -> bool {
    let r = core::arch::x86_64::__cpuid(1);
    r.ecx & (1 << 24) != 0
}

/// Records where the APICs are (from the MADT).
pub fn locate(lapic: u64, ioapic: u64) {
    LAPIC.store(lapic, Ordering::Relaxed);
    IOAPIC.store(ioapic, Ordering::Relaxed);
}

/// Turns on this CPU's local APIC: spurious vector, all priorities
/// accepted, timer masked.
pub fn enable() {
    write(TPR, 0);
    write(LVT_TIMER, 1 << 16);
    write(SVR, 0x100 | SPURIOUS_VECTOR as u32);
}

/// Signals the end of the interrupt being handled.
pub fn eoi() {
    write(EOI, 0);
}

/// The timer in one-shot mode, masked, divide-by-16, counting down from
/// the largest count (for calibration).
pub fn timer_count_down() {
    write(TIMER_DIVIDE, 0x3);
    write(LVT_TIMER, 1 << 16);
    write(TIMER_INITIAL, u32::MAX);
}

/// The timer's current count.
pub fn timer_current() -> u32 {
    read(TIMER_CURRENT)
}

/// The timer interrupting on `vector` every `count` ticks (divide-by-16).
pub fn timer_periodic(vector: u8, count: u32) {
    write(TIMER_DIVIDE, 0x3);
    write(LVT_TIMER, 1 << 17 | vector as u32);
    write(TIMER_INITIAL, count.max(1));
}

/// The timer in TSC-deadline mode on `vector` (armed by [`set_deadline`]).
pub fn timer_deadline_mode(vector: u8) {
    write(LVT_TIMER, 2 << 17 | vector as u32);
    // The mode change must be seen before the deadline MSR is written.
    core::sync::atomic::fence(Ordering::SeqCst);
}

/// Arms the TSC-deadline timer for time-stamp-counter value `tsc`.
pub fn set_deadline(tsc: u64) {
    // SAFETY: IA32_TSC_DEADLINE (0x6e0) exists when `has_tsc_deadline`;
    // writing it only arms the local timer.
    unsafe {
        core::arch::asm!("wrmsr", in("ecx") 0x6e0u32, in("eax") tsc as u32,
            in("edx") (tsc >> 32) as u32, options(nostack, nomem))
    };
}

/// Stops the timer.
pub fn timer_stop() {
    write(LVT_TIMER, 1 << 16);
    write(TIMER_INITIAL, 0);
}

/// Sends an inter-processor interrupt: `icr` is the ICR's low word
/// (vector, delivery mode, level, shorthand), `dest` the target APIC id.
pub fn send_ipi(dest: u32, icr: u32) {
    write(ICR_HIGH, dest << 24);
    write(ICR_LOW, icr);
    while read(ICR_LOW) & (1 << 12) != 0 {
        core::hint::spin_loop();
    }
}

fn ioapic_ptr(reg: u64) -> *mut u32 {
    let base = IOAPIC.load(Ordering::Relaxed);
    assert!(base != 0, "I/O APIC used before it was found");
    (base + reg) as *mut u32
}

fn ioapic_write(index: u32, value: u32) {
    // SAFETY: IOREGSEL (offset 0) and IOWIN (0x10) of the I/O APIC's page,
    // mapped uncached; an index then its value.
    unsafe {
        ioapic_ptr(0).write_volatile(index);
        ioapic_ptr(0x10).write_volatile(value);
    }
}

fn ioapic_read(index: u32) -> u32 {
    // SAFETY: as in `ioapic_write`.
    unsafe {
        ioapic_ptr(0).write_volatile(index);
        ioapic_ptr(0x10).read_volatile()
    }
}

/// Lines of the I/O APIC (0 if there is none).
pub fn ioapic_lines() -> u32 {
    if IOAPIC.load(Ordering::Relaxed) == 0 {
        return 0;
    }
    ((ioapic_read(1) >> 16) & 0xff) + 1
}

/// Masks every I/O APIC line.
pub fn ioapic_mask_all() {
    for line in 0..ioapic_lines() {
        ioapic_write(0x10 + 2 * line, 1 << 16);
        ioapic_write(0x11 + 2 * line, 0);
    }
}

/// Routes I/O APIC `line` to `vector` on the CPU with APIC id `dest`
/// (`low_active`/`level` from the MADT's overrides; ISA lines are
/// active-high, edge-triggered).
pub fn ioapic_route(line: u32, vector: u8, dest: u32, low_active: bool, level: bool) {
    let low = vector as u32 | (low_active as u32) << 13 | (level as u32) << 15;
    ioapic_write(0x11 + 2 * line, dest << 24);
    ioapic_write(0x10 + 2 * line, low);
}

/// Masks I/O APIC `line`.
pub fn ioapic_mask(line: u32) {
    ioapic_write(0x10 + 2 * line, 1 << 16);
}
