//! Page-table memory and the switch to new tables. Page-table frames are
//! reached through the physical map ([`super::PHYS_OFFSET`]; the kernel's
//! tables map all RAM there), so an entry is read and written by the
//! table's physical address.
#![allow(unsafe_code)]

/// Writable (the kernel's flags are x86-64's own bits).
pub const WRITABLE: u64 = 1 << 1;
/// Reachable from user mode.
pub const USER: u64 = 1 << 2;
/// Device memory: caching disabled, write-through.
pub const UNCACHED: u64 = 1 << 3 | 1 << 4;
/// Not executable.
pub const NO_EXECUTE: u64 = 1 << 63;
const PRESENT: u64 = 1;
const ADDR: u64 = 0x000f_ffff_ffff_f000;
const HUGE: u64 = 1 << 7;

/// A last-level entry mapping the page at `phys` with the kernel's
/// `flags` ([`WRITABLE`], [`USER`], [`UNCACHED`], [`NO_EXECUTE`]).
pub const fn leaf_entry(phys: u64, flags: u64) -> u64 {
    (phys & ADDR) | (flags & (WRITABLE | USER | UNCACHED | NO_EXECUTE)) | PRESENT
}

/// An upper-level entry pointing at the table at `phys`; it allows
/// everything (user access included): the last level decides.
pub const fn table_entry(phys: u64) -> u64 {
    (phys & ADDR) | PRESENT | WRITABLE | USER
}

/// What an entry holds: the physical address it points at and its
/// flags; `None` if it is not present.
pub const fn decode(entry: u64) -> Option<(u64, u64)> {
    if entry & PRESENT == 0 {
        None
    } else {
        Some((entry & ADDR, entry & (WRITABLE | USER | UNCACHED | NO_EXECUTE)))
    }
}

/// Physical addresses are below 2^46 (the physical map's size).
const PHYS_LIMIT: u64 = 1 << 46;

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

/// Sets entry `index` of the page table at physical `table`.
pub fn write_entry(table: u64, index: usize, value: u64) {
    // SAFETY: as above; the kernel owns the table frames it writes.
    unsafe { entry_ptr(table, index).write_volatile(value) }
}

/// Zeroes the frame at physical `frame` (a new page table).
pub fn zero_frame(frame: u64) {
    let p = entry_ptr(frame, 0);
    // SAFETY: `entry_ptr` checked a page-aligned frame of RAM, which the
    // physical map covers; the kernel owns the new table frame it clears.
    unsafe { core::ptr::write_bytes(p, 0, 512) };
}

/// Switches to the page tables rooted at `pml4` and turns on write
/// protection for the kernel (CR0.WP), so read-only pages hold in ring 0.
pub fn activate(pml4: u64) {
    KERNEL_ROOT.store(pml4, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: the caller built tables that map the running code, its
    // stack and data (the kernel's paging code checks this by
    // construction); the switch flushes the TLB.
    unsafe {
        core::arch::asm!(
            "mov cr3, {pml4}",
            "mov {tmp}, cr0",
            "or {tmp}, {wp}",
            "mov cr0, {tmp}",
            pml4 = in(reg) pml4,
            tmp = out(reg) _,
            wp = const 1u64 << 16,
            options(nostack),
        )
    };
}

/// The live tables' mapping of the 4 KiB page at `virt`: its physical
/// address and the flags in force (writable and user only where every
/// level grants them, not executable where any level forbids it);
/// `None` if a level is not present or maps a huge page (the kernel uses
/// none).
pub fn lookup(virt: u64) -> Option<(u64, u64)> {
    let mut table = root();
    let mut granted = u64::MAX;
    let mut denied = 0;
    for level in (1..4).rev() {
        let e = read_entry(table, ((virt >> (12 + 9 * level)) & 511) as usize);
        if e & PRESENT == 0 || (level < 3 && e & HUGE != 0) {
            return None;
        }
        granted &= e;
        denied |= e & NO_EXECUTE;
        table = e & ADDR;
    }
    let e = read_entry(table, ((virt >> 12) & 511) as usize);
    let (phys, flags) = decode(e)?;
    Some((phys, (flags & (granted | NO_EXECUTE | UNCACHED)) | denied))
}

/// The kernel's own page tables (set by [`activate`]).
static KERNEL_ROOT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Loads page tables `root` (0: the kernel's) unless they are loaded
/// already. Every set of tables shares the kernel's upper half.
pub fn switch_root(root: u64) {
    let root =
        if root == 0 { KERNEL_ROOT.load(core::sync::atomic::Ordering::Relaxed) } else { root };
    if root == 0 || root == self::root() {
        return;
    }
    // SAFETY: `root` is the kernel's tables or a process's, whose upper
    // half is the kernel's (the kernel builds them so); the kernel's code,
    // stacks and data stay mapped across the switch.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) root, options(nostack)) };
}

/// The root page table's physical address (CR3).
pub fn root() -> u64 {
    let cr3: u64;
    // SAFETY: reads CR3; no side effects.
    unsafe { core::arch::asm!("mov {}, cr3", out(reg) cr3, options(nomem, nostack)) };
    cr3 & !0xfff
}

/// Drops any cached translation of the page at `virt` on this CPU.
pub fn flush(virt: u64) {
    // SAFETY: `invlpg` only invalidates a TLB entry.
    unsafe { core::arch::asm!("invlpg [{}]", in(reg) virt, options(nostack)) };
}

/// Drops every cached translation on this CPU (reloads CR3).
pub fn flush_all() {
    // SAFETY: rewriting CR3 with its own value only flushes the TLB.
    unsafe { core::arch::asm!("mov {t}, cr3", "mov cr3, {t}", t = out(reg) _, options(nostack)) };
}

/// Writes a byte to `addr` (for the W^X test: a write to kernel text
/// must fault).
pub fn poke(addr: u64) {
    // SAFETY: deliberately writes through the page tables; on read-only
    // pages the page-fault handler reports it and ends the machine.
    unsafe { core::ptr::write_volatile(addr as *mut u8, 0xcc) };
}

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __data_start: u8;
}

/// The kernel's sections: `[rodata, text, data)` boundaries as the linker
/// script lays them out: (rodata start, text start, text end, data start).
pub fn sections() -> (u64, u64, u64, u64) {
    (
        &raw const __rodata_start as u64,
        &raw const __text_start as u64,
        &raw const __text_end as u64,
        &raw const __data_start as u64,
    )
}
