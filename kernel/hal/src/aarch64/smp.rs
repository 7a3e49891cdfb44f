//! Starting the other processors with PSCI's `CPU_ON` (through `hvc` or
//! `smc`, as the device tree says): each enters the boot code at its
//! physical address with a start slot (its stack and index), turns its
//! MMU on with the boot tables, loads the kernel's and calls its entry.
//! No trampoline in low memory is needed. TLB maintenance is broadcast
//! in hardware, so no shoot-down interrupt either.
#![allow(unsafe_code)]

use super::MAX_CPUS;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// PSCI 0.2 `SYSTEM_OFF`.
pub const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
/// PSCI 0.2 `CPU_ON`, 64-bit.
pub const PSCI_CPU_ON: u64 = 0xc400_0003;

/// Calls PSCI function `function` with three arguments; its result.
pub fn psci(smc: bool, function: u64, a: u64, b: u64, c: u64) -> i64 {
    let mut r = function;
    // SAFETY: a firmware call with the SMC calling convention: x0 to x3 in,
    // x0 out, x4 to x17 may be clobbered.
    unsafe {
        if smc {
            core::arch::asm!("smc #0", inout("x0") r, inout("x1") a => _, inout("x2") b => _,
                inout("x3") c => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _,
                out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _,
                options(nostack));
        } else {
            core::arch::asm!("hvc #0", inout("x0") r, inout("x1") a => _, inout("x2") b => _,
                inout("x3") c => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _,
                out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _,
                options(nostack));
        }
    }
    r as i64
}

/// No trampoline: secondary CPUs enter the kernel image itself.
pub fn trampoline() -> Option<(u64, u64)> {
    None
}

/// A secondary CPU's start slot: its stack top (read by the boot code),
/// its index and its Rust entry.
#[repr(C)]
struct Slot {
    stack_top: AtomicU64,
    index: AtomicU64,
    entry: AtomicUsize,
}

static SLOTS: [Slot; MAX_CPUS] = [const {
    Slot { stack_top: AtomicU64::new(0), index: AtomicU64::new(0), entry: AtomicUsize::new(0) }
}; MAX_CPUS];
static ONLINE: AtomicUsize = AtomicUsize::new(1);

unsafe extern "C" {
    static axiom_secondary_entry: u8;
}

/// Starts processor `index` (device-tree order) on a stack whose top is
/// `stack_top`, running `entry(index)`; `false` if PSCI refused.
pub fn start_ap(index: usize, stack_top: u64, entry: fn(usize) -> !) -> bool {
    let Some(m) = super::MACHINE.get() else { return false };
    let Some(smc) = m.psci else { return false };
    if index == 0 || index >= m.cpus {
        return false;
    }
    let slot = &SLOTS[index];
    slot.stack_top.store(stack_top, Ordering::Relaxed);
    slot.index.store(index as u64, Ordering::Relaxed);
    slot.entry.store(entry as usize, Ordering::Release);
    let phys = (&raw const axiom_secondary_entry as u64).wrapping_sub(super::kernel_base());
    let r = psci(smc, PSCI_CPU_ON, m.mpidr[index], phys, slot as *const Slot as u64);
    r == 0
}

#[unsafe(no_mangle)]
extern "C" fn axiom_secondary_main(slot: &Slot) -> ! {
    let index = slot.index.load(Ordering::Relaxed) as usize;
    super::cpu::init_cpu(index);
    super::gic::init_cpu();
    if let Some(m) = super::MACHINE.get() {
        super::gic::enable(m.timer.1, true);
    }
    ONLINE.fetch_add(1, Ordering::AcqRel);
    // SAFETY: only `start_ap` stores here, a `fn(usize) -> !`.
    let entry: fn(usize) -> ! = unsafe { core::mem::transmute(slot.entry.load(Ordering::Acquire)) };
    entry(index)
}

/// Processors running the kernel.
pub fn online() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// Drops cached translations on every CPU (a broadcast TLB invalidation).
pub fn flush_tlb_everywhere() {
    super::paging::flush_all();
}
