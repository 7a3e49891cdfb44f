//! The GIC: version 2 (QEMU `virt`'s default; the Raspberry Pi 5's
//! GIC-400), a memory-mapped distributor and CPU interface; version 3, a
//! distributor, a redistributor per CPU and the CPU interface in system
//! registers. Every interrupt has one priority (GICv3: group 1); SPIs go
//! to the boot CPU. An interrupt is acknowledged and ended (priority drop and
//! deactivation) before its handler runs, so a handler may switch
//! threads; the device's own acknowledgement happens in the handler.
#![allow(unsafe_code)]

use super::dt::Gic;
use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};

static VERSION: AtomicU8 = AtomicU8::new(0);
static DIST: AtomicU64 = AtomicU64::new(0);
static CPU_IF: AtomicU64 = AtomicU64::new(0);
static REDIST: AtomicU64 = AtomicU64::new(0);
static REDIST_LEN: AtomicU64 = AtomicU64::new(0);
/// The boot CPU's affinity, where SPIs go (GICv3).
static BOOT_AFFINITY: AtomicU64 = AtomicU64::new(0);

const PRIORITY: u8 = 0xa0;

fn mmio32(addr: u64) -> *mut u32 {
    super::phys_to_virt(addr) as *mut u32
}

fn rd(addr: u64) -> u32 {
    // SAFETY: `addr` is a GIC register inside the ranges the device tree
    // gave, which the kernel maps as device memory (`device_ranges`).
    unsafe { mmio32(addr).read_volatile() }
}

fn wr(addr: u64, value: u32) {
    // SAFETY: as in `rd`.
    unsafe { mmio32(addr).write_volatile(value) }
}

fn wr64(addr: u64, value: u64) {
    // SAFETY: as in `rd`; GICD_IROUTER registers are 64 bits wide.
    unsafe { (super::phys_to_virt(addr) as *mut u64).write_volatile(value) }
}

fn rd64(addr: u64) -> u64 {
    // SAFETY: as in `rd`; GICR_TYPER is 64 bits wide.
    unsafe { (super::phys_to_virt(addr) as *const u64).read_volatile() }
}

/// The distributor: every SPI off, group 1, one priority, to the boot
/// CPU; then on.
pub fn init(gic: &Gic, mpidr: &[u64]) {
    VERSION.store(gic.version, Ordering::Relaxed);
    DIST.store(gic.dist.0, Ordering::Relaxed);
    if gic.version == 3 {
        REDIST.store(gic.cpu.0, Ordering::Relaxed);
        REDIST_LEN.store(gic.cpu.1, Ordering::Relaxed);
    } else {
        CPU_IF.store(gic.cpu.0, Ordering::Relaxed);
    }
    BOOT_AFFINITY.store(mpidr.first().copied().unwrap_or(0), Ordering::Relaxed);
    let d = gic.dist.0;
    if d == 0 {
        return;
    }
    wr(d, 0);
    let lines = (32 * ((rd(d + 4) & 0x1f) + 1)).min(1020);
    for i in (32..lines).step_by(32) {
        wr(d + 0x180 + i as u64 / 8, u32::MAX); // disable
        wr(d + 0x280 + i as u64 / 8, u32::MAX); // clear pending
        if gic.version == 3 {
            wr(d + 0x080 + i as u64 / 8, u32::MAX); // group 1
        }
    }
    for i in 32..lines {
        // SAFETY: byte-wide priority registers, inside the distributor.
        unsafe { (super::phys_to_virt(d + 0x400 + i as u64) as *mut u8).write_volatile(PRIORITY) };
        if gic.version == 2 {
            // SAFETY: byte-wide target registers: CPU interface 0.
            unsafe { (super::phys_to_virt(d + 0x800 + i as u64) as *mut u8).write_volatile(1) };
        } else {
            wr64(d + 0x6000 + 8 * i as u64, affinity_route(BOOT_AFFINITY.load(Ordering::Relaxed)));
        }
    }
    if gic.version == 3 {
        // ARE (bit 4), group 1 (bits 1 and 0): the non-secure and the
        // single-security-state views agree on these.
        wr(d, 0x13);
        while rd(d) & (1 << 31) != 0 {
            core::hint::spin_loop();
        }
    } else {
        wr(d, 0x3);
    }
}

/// GICD_IROUTER's value for a CPU's MPIDR affinity.
fn affinity_route(mpidr: u64) -> u64 {
    (mpidr & 0xff_ffff) | ((mpidr >> 32) & 0xff) << 32
}

/// This CPU's redistributor (GICv3): the one whose affinity matches.
fn my_redistributor() -> Option<u64> {
    let base = REDIST.load(Ordering::Relaxed);
    let len = REDIST_LEN.load(Ordering::Relaxed);
    let me = super::cpu::mpidr();
    let want = (me & 0xff_ffff) | ((me >> 32) & 0xff) << 24;
    let mut at = base;
    while at < base + len {
        let typer = rd64(at + 8);
        if typer >> 32 == want {
            return Some(at);
        }
        if typer & (1 << 4) != 0 {
            break; // the last one
        }
        // Two 64 KiB frames, four where virtual LPIs are supported.
        at += if typer & 2 != 0 { 0x40000 } else { 0x20000 };
    }
    None
}

/// This CPU's interface (and GICv3 redistributor): its private
/// interrupts off but group 1 at the one priority; every priority let
/// through; on.
pub fn init_cpu() {
    match VERSION.load(Ordering::Relaxed) {
        3 => {
            if let Some(r) = my_redistributor() {
                // Wake it: clear ProcessorSleep, wait for ChildrenAsleep.
                wr(r + 0x14, rd(r + 0x14) & !2);
                while rd(r + 0x14) & 4 != 0 {
                    core::hint::spin_loop();
                }
                let sgi = r + 0x10000;
                wr(sgi + 0x180, u32::MAX);
                wr(sgi + 0x080, u32::MAX);
                for i in 0..32u64 {
                    // SAFETY: byte-wide priority registers of the SGI frame.
                    unsafe {
                        (super::phys_to_virt(sgi + 0x400 + i) as *mut u8).write_volatile(PRIORITY)
                    };
                }
            }
            super::cpu::gicv3_cpu_on();
        }
        2 => {
            // Groups stay as they are: without the security extensions
            // (QEMU) everything is group 0, which this interface
            // acknowledges; a non-secure kernel (the Pi 5 under its
            // firmware) sees only the group 1 the firmware set up.
            let d = DIST.load(Ordering::Relaxed);
            wr(d + 0x180, u32::MAX);
            for i in 0..32u64 {
                // SAFETY: banked byte-wide priority registers.
                unsafe { (super::phys_to_virt(d + 0x400 + i) as *mut u8).write_volatile(PRIORITY) };
            }
            let c = CPU_IF.load(Ordering::Relaxed);
            wr(c + 0x4, 0xff); // priority mask: everything
            wr(c + 0x8, 0); // binary point
            wr(c, 0x3); // group 0 and 1 on
        }
        _ => {}
    }
}

/// Enables or disables INTID `intid`: a private interrupt (below 32) on
/// the calling CPU, a shared one at the distributor.
pub fn enable(intid: u32, on: bool) {
    let reg = if on { 0x100 } else { 0x180 } + 4 * (intid as u64 / 32);
    let bit = 1 << (intid % 32);
    match VERSION.load(Ordering::Relaxed) {
        3 if intid < 32 => {
            if let Some(r) = my_redistributor() {
                wr(r + 0x10000 + reg, bit);
            }
        }
        2 | 3 => wr(DIST.load(Ordering::Relaxed) + reg, bit),
        _ => {}
    }
}

/// Takes the highest-priority pending interrupt and ends it at once;
/// its INTID, or `None` if it was spurious (1020 and up).
pub fn acknowledge() -> Option<u32> {
    let intid = match VERSION.load(Ordering::Relaxed) {
        3 => {
            let iar = super::cpu::gicv3_acknowledge();
            if iar < 1020 {
                super::cpu::gicv3_end(iar);
            }
            iar
        }
        2 => {
            let c = CPU_IF.load(Ordering::Relaxed);
            let iar = rd(c + 0xc);
            if iar & 0x3ff < 1020 {
                wr(c + 0x10, iar);
            }
            iar & 0x3ff
        }
        _ => 1023,
    };
    (intid < 1020).then_some(intid)
}
