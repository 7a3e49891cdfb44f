//! Page tables (4 KiB granule, four levels, 48-bit addresses) and the
//! switch to new tables. One root serves both halves: TTBR1 (the kernel's
//! upper half, the same in every root) and TTBR0 (a process's lower
//! half, 47 bits). Table frames are reached through the physical map.
//! The kernel's flags are encoded here: read-only as AP[2], user as
//! AP[1] (user pages are never executable at EL1: PXN), device memory as
//! MAIR index 1, not executable as UXN or PXN.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

/// Writable.
pub const WRITABLE: u64 = 1 << 1;
/// Reachable from user mode.
pub const USER: u64 = 1 << 2;
/// Device memory (uncached).
pub const UNCACHED: u64 = 1 << 3;
/// Not executable.
pub const NO_EXECUTE: u64 = 1 << 63;

const VALID: u64 = 1;
const PAGE: u64 = 1 << 1;
const ATTR_DEVICE: u64 = 1 << 2;
const AP_USER: u64 = 1 << 6;
const AP_READ_ONLY: u64 = 1 << 7;
const INNER_SHAREABLE: u64 = 3 << 8;
const ACCESSED: u64 = 1 << 10;
const NOT_GLOBAL: u64 = 1 << 11;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ADDR: u64 = 0x0000_ffff_ffff_f000;

/// A last-level entry mapping the page at `phys` with the kernel's
/// `flags`.
pub const fn leaf_entry(phys: u64, flags: u64) -> u64 {
    let mut e = (phys & ADDR) | VALID | PAGE | ACCESSED | INNER_SHAREABLE;
    if flags & WRITABLE == 0 {
        e |= AP_READ_ONLY;
    }
    if flags & UNCACHED != 0 {
        e |= ATTR_DEVICE;
    }
    if flags & USER != 0 {
        e |= AP_USER | NOT_GLOBAL | PXN;
        if flags & NO_EXECUTE != 0 {
            e |= UXN;
        }
    } else {
        e |= UXN;
        if flags & NO_EXECUTE != 0 {
            e |= PXN;
        }
    }
    e
}

/// An upper-level entry pointing at the table at `phys` (no limits: the
/// last level decides).
pub const fn table_entry(phys: u64) -> u64 {
    (phys & ADDR) | VALID | PAGE
}

/// What an entry holds: the physical address it points at and its
/// flags; `None` if it is not valid.
pub const fn decode(entry: u64) -> Option<(u64, u64)> {
    if entry & VALID == 0 {
        return None;
    }
    let mut flags = 0;
    if entry & AP_READ_ONLY == 0 {
        flags |= WRITABLE;
    }
    if entry & AP_USER != 0 {
        flags |= USER;
        if entry & UXN != 0 {
            flags |= NO_EXECUTE;
        }
    } else if entry & PXN != 0 {
        flags |= NO_EXECUTE;
    }
    if entry & (7 << 2) == ATTR_DEVICE {
        flags |= UNCACHED;
    }
    Some((entry & ADDR, flags))
}

/// Physical addresses are below 2^48.
const PHYS_LIMIT: u64 = 1 << 48;

fn entry_ptr(table: u64, index: usize) -> *mut u64 {
    assert!(
        table.is_multiple_of(4096) && table < PHYS_LIMIT && index < 512,
        "bad page-table access"
    );
    super::phys_to_virt(table + index as u64 * 8) as *mut u64
}

/// Entry `index` of the page table at physical `table`.
pub fn read_entry(table: u64, index: usize) -> u64 {
    // SAFETY: `entry_ptr` checked a page-aligned table; page tables lie in
    // RAM, which the physical map covers.
    unsafe { entry_ptr(table, index).read_volatile() }
}

/// Sets entry `index` of the page table at physical `table` (and makes
/// the write visible to the table walker).
pub fn write_entry(table: u64, index: usize, value: u64) {
    // SAFETY: as above; the kernel owns the table frames it writes. The
    // barrier orders the write before later walks.
    unsafe {
        entry_ptr(table, index).write_volatile(value);
        core::arch::asm!("dsb ishst", options(nostack));
    }
}

/// Zeroes the frame at physical `frame` (a new page table).
pub fn zero_frame(frame: u64) {
    let p = entry_ptr(frame, 0);
    // SAFETY: `entry_ptr` checked a page-aligned frame of RAM, which the
    // physical map covers; the kernel owns the new table frame it clears.
    unsafe { core::ptr::write_bytes(p, 0, 512) };
}

/// The kernel's own root (set by [`activate`]; secondary CPUs load it).
#[unsafe(no_mangle)]
static axiom_kernel_root: AtomicU64 = AtomicU64::new(0);

/// Switches to the page tables rooted at `root`, both halves.
pub fn activate(root: u64) {
    axiom_kernel_root.store(root, Ordering::Release);
    // SAFETY: the caller built tables that map the running code, its
    // stack and data; the TLB is flushed after the switch.
    unsafe {
        core::arch::asm!(
            "dsb ish",
            "msr ttbr1_el1, {r}",
            "msr ttbr0_el1, {r}",
            "isb",
            "tlbi vmalle1is",
            "dsb ish",
            "isb",
            r = in(reg) root,
            options(nostack),
        )
    };
}

/// The kernel's root, once [`activate`] ran.
pub fn kernel_root() -> u64 {
    axiom_kernel_root.load(Ordering::Acquire)
}

/// The live tables' mapping of the 4 KiB page at `virt`: its physical
/// address and flags; `None` if a level is not valid or maps a block
/// (the kernel's tables use none).
pub fn lookup(virt: u64) -> Option<(u64, u64)> {
    let mut table = if virt >> 63 != 0 { ttbr(1) } else { root() };
    for level in (1..4).rev() {
        let e = read_entry(table, ((virt >> (12 + 9 * level)) & 511) as usize);
        if e & (VALID | PAGE) != VALID | PAGE {
            return None;
        }
        table = e & ADDR;
    }
    decode(read_entry(table, ((virt >> 12) & 511) as usize))
}

fn ttbr(which: u8) -> u64 {
    let v = if which == 0 {
        super::cpu::sysreg_read!("ttbr0_el1")
    } else {
        super::cpu::sysreg_read!("ttbr1_el1")
    };
    v & ADDR
}

/// Loads page tables `root` (0: the kernel's) into TTBR0 unless they are
/// loaded already. Every set of tables shares the kernel's upper half,
/// which TTBR1 keeps.
pub fn switch_root(root: u64) {
    let root = if root == 0 { kernel_root() } else { root };
    if root == 0 || root == self::root() {
        return;
    }
    // SAFETY: `root` is the kernel's tables or a process's; the kernel's
    // half is TTBR1's and does not change. No ASIDs: this CPU's TLB is
    // flushed.
    unsafe {
        core::arch::asm!(
            "msr ttbr0_el1, {}",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            in(reg) root,
            options(nostack)
        )
    };
}

/// The lower half's root table (TTBR0).
pub fn root() -> u64 {
    ttbr(0)
}

/// Drops the cached translations of the page at `virt` on every CPU
/// (TLB maintenance is broadcast in the inner shareable domain).
pub fn flush(virt: u64) {
    // SAFETY: only invalidates TLB entries.
    unsafe {
        core::arch::asm!("dsb ishst", "tlbi vaae1is, {}", "dsb ish", "isb",
            in(reg) (virt >> 12) & 0xfff_ffff_ffff, options(nostack))
    };
}

/// Drops every cached translation on every CPU.
pub fn flush_all() {
    // SAFETY: only invalidates TLB entries.
    unsafe { core::arch::asm!("dsb ishst", "tlbi vmalle1is", "dsb ish", "isb", options(nostack)) };
}

/// Writes a byte to `addr` (for the W^X test: a write to kernel text
/// must fault).
pub fn poke(addr: u64) {
    // SAFETY: deliberately writes through the page tables; on read-only
    // pages the fault handler reports it and ends the machine.
    unsafe { core::ptr::write_volatile(addr as *mut u8, 0xcc) };
}

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __data_start: u8;
    static axiom_boot_l1: u8;
}

/// The kernel's sections: (rodata start, text start, text end, data
/// start), as the linker script lays them out.
pub fn sections() -> (u64, u64, u64, u64) {
    (
        &raw const __rodata_start as u64,
        &raw const __text_start as u64,
        &raw const __text_end as u64,
        &raw const __data_start as u64,
    )
}

/// Makes device registers at `phys` reachable through the physical map
/// before the kernel's tables are on (the boot console): the GiB holding
/// them becomes a device block in the boot tables, unless RAM holds that
/// GiB. After [`activate`], the kernel's tables map devices
/// (`device_ranges`). Whether `phys` is mapped.
pub fn early_device(phys: u64) -> bool {
    if kernel_root() != 0 {
        return true;
    }
    let l1 = &raw const axiom_boot_l1 as *mut u64;
    let index = ((phys >> 30) & 511) as usize;
    // A 1 GiB device block: valid, attribute 1, AF, never executable.
    let block = (phys & !((1 << 30) - 1)) | VALID | ATTR_DEVICE | ACCESSED | PXN | UXN;
    // SAFETY: the boot L1 table is the boot code's, in `.bss`, mapped
    // writable by the boot tables; one CPU runs this early.
    unsafe {
        let slot = l1.add(index);
        let e = slot.read_volatile();
        if e == 0 {
            slot.write_volatile(block);
            core::arch::asm!("dsb ishst", "isb", options(nostack));
            return true;
        }
        e == block
    }
}
