//! The PVH entry: QEMU (and Xen) start a kernel whose ELF carries a
//! `XEN_ELFNOTE_PHYS32_ENTRY` note in 32-bit protected mode, paging off,
//! `ebx` pointing at the `hvm_start_info`. The entry (at its physical
//! address) maps the first GiB three times with 2 MiB pages: at 0
//! (identity, for the switch itself), at [`super::PHYS_OFFSET`] (the
//! kernel's view of physical memory) and at [`super::KERNEL_BASE`] (where
//! the kernel runs), enters long mode, jumps to the kernel's virtual
//! address and calls `kernel_main(start_info)` on the boot stack.
#![allow(unsafe_code)]

core::arch::global_asm!(
    r#"
    .section .note.pvh, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .long pvh_start

    .section .text.boot, "ax"
    .code32
    .global pvh_start
pvh_start:
    cli
    mov esi, ebx
    // PML4[0] (identity) and PML4[256] (physical map) -> the low PDPT;
    // PML4[511] -> the high PDPT, whose entry 510 is the -2 GiB slot.
    mov eax, offset boot_pdpt
    or eax, 3
    mov dword ptr [boot_pml4], eax
    mov dword ptr [boot_pml4 + 256 * 8], eax
    mov eax, offset boot_pdpt_high
    or eax, 3
    mov dword ptr [boot_pml4 + 511 * 8], eax
    mov eax, offset boot_pd
    or eax, 3
    mov dword ptr [boot_pdpt], eax
    mov dword ptr [boot_pdpt_high + 510 * 8], eax
    xor ecx, ecx
2:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov dword ptr [boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jne 2b
    mov eax, offset boot_pml4
    mov cr3, eax
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x900
    wrmsr
    mov eax, cr0
    or eax, 0x80000001
    mov cr0, eax
    lgdt [boot_gdt_ptr]
    .byte 0xea
    .long boot_long_mode
    .word 0x08

    .code64
boot_long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    movabs rax, offset boot_high
    jmp rax

    .section .rodata.boot, "a"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

    .section .bss.boot, "aw", @nobits
    .balign 4096
boot_pml4:
    .space 4096
boot_pdpt:
    .space 4096
boot_pdpt_high:
    .space 4096
boot_pd:
    .space 4096

    // The kernel's side: at its virtual address, on its boot stack.
    .section .text
boot_high:
    lea rsp, [rip + boot_stack_top]
    mov edi, esi
    call kernel_main
3:
    hlt
    jmp 3b

    .section .bss
    .balign 16
boot_stack:
    .space 65536
boot_stack_top:
    "#
);

/// What the PVH loader tells the kernel: `struct hvm_start_info`.
#[repr(C)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

/// `hvm_start_info.magic`.
const START_MAGIC: u32 = 0x336e_c578;

/// The kernel command line from the PVH start info at `addr` (empty if
/// the structure is missing or malformed).
pub fn cmdline(addr: u64) -> &'static str {
    if addr == 0 || !addr.is_multiple_of(8) || addr >= 1 << 30 {
        return "";
    }
    // SAFETY: the loader placed the start info at `addr`, inside the first
    // GiB, which the physical map covers (the boot map's, then the
    // kernel's); it is read, never written.
    let info = unsafe { &*(super::phys_to_virt(addr) as *const StartInfo) };
    if info.magic != START_MAGIC || info.cmdline_paddr == 0 || info.cmdline_paddr >= 1 << 30 {
        return "";
    }
    let start = super::phys_to_virt(info.cmdline_paddr) as *const u8;
    let mut len = 0;
    // SAFETY: the command line is a NUL-terminated string the loader wrote
    // in mapped memory; at most 4 KiB is read.
    while len < 4096 && unsafe { *start.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` bytes were just read from there.
    let bytes = unsafe { core::slice::from_raw_parts(start, len) };
    core::str::from_utf8(bytes).unwrap_or("")
}

/// The ACPI RSDP's physical address from the PVH start info (0 if the
/// loader gave none).
pub(super) fn rsdp(addr: u64) -> u64 {
    if addr == 0 || !addr.is_multiple_of(8) || addr >= 1 << 30 {
        return 0;
    }
    // SAFETY: as in `cmdline`: the loader's start info, read only.
    let info = unsafe { &*(super::phys_to_virt(addr) as *const StartInfo) };
    if info.magic != START_MAGIC { 0 } else { info.rsdp_paddr }
}

/// One entry of the PVH module list (`struct hvm_modlist_entry`).
#[repr(C)]
#[derive(Clone, Copy)]
struct ModuleEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

/// The physical range of the first boot module (QEMU's `-initrd`), if
/// the loader passed one.
pub fn module_range(addr: u64) -> Option<(u64, u64)> {
    if addr == 0 || !addr.is_multiple_of(8) || addr >= 1 << 30 {
        return None;
    }
    // SAFETY: as in `cmdline`: the loader's start info, read only.
    let info = unsafe { &*(super::phys_to_virt(addr) as *const StartInfo) };
    if info.magic != START_MAGIC || info.nr_modules == 0 || info.modlist_paddr == 0 {
        return None;
    }
    if info.modlist_paddr >= 1 << 30 {
        return None;
    }
    // SAFETY: the list holds `nr_modules` (at least one) entries, in the
    // first GiB, which the physical map covers; it may be only 4-byte
    // aligned (QEMU's microvm firmware), so it is read unaligned.
    let m = unsafe {
        core::ptr::read_unaligned(super::phys_to_virt(info.modlist_paddr) as *const ModuleEntry)
    };
    (m.size > 0 && m.paddr.checked_add(m.size).is_some()).then_some((m.paddr, m.paddr + m.size))
}

/// The first boot module's bytes, once the kernel's physical map covers
/// them (`ram_top`: where that map ends) and the frame allocator keeps
/// them reserved.
pub fn module(addr: u64, ram_top: u64) -> Option<&'static [u8]> {
    let (start, end) = module_range(addr)?;
    if end > ram_top {
        return None;
    }
    // SAFETY: the module lies in RAM below `ram_top`, mapped in the
    // physical map; the kernel reserves its frames (never handed out) and
    // never writes it, so the bytes stay as the loader left them.
    Some(unsafe {
        core::slice::from_raw_parts(super::phys_to_virt(start) as *const u8, (end - start) as usize)
    })
}

/// One entry of the PVH memory map (`struct hvm_memmap_table_entry`).
#[repr(C)]
#[derive(Clone, Copy)]
struct MemmapEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// A range of physical memory and whether the kernel may use it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
    /// RAM the kernel may use (E820 type 1).
    pub usable: bool,
}

/// The physical memory map the PVH loader passed (at most `out.len()`
/// entries are copied); returns how many were.
pub fn memory_map(addr: u64, out: &mut [Region]) -> usize {
    if addr == 0 || !addr.is_multiple_of(8) || addr >= 1 << 30 {
        return 0;
    }
    // SAFETY: as in `cmdline`: the loader's start info, read only.
    let info = unsafe { &*(super::phys_to_virt(addr) as *const StartInfo) };
    if info.magic != START_MAGIC || info.version < 1 || info.memmap_paddr == 0 {
        return 0;
    }
    let n = (info.memmap_entries as usize).min(out.len());
    if info.memmap_paddr >= 1 << 30 || !info.memmap_paddr.is_multiple_of(8) {
        return 0;
    }
    let table = super::phys_to_virt(info.memmap_paddr) as *const MemmapEntry;
    for (i, slot) in out.iter_mut().take(n).enumerate() {
        // SAFETY: the table holds `memmap_entries` entries in mapped memory.
        let e = unsafe { *table.add(i) };
        *slot = Region { base: e.addr, len: e.size, usable: e.kind == 1 };
    }
    n
}

unsafe extern "C" {
    static __kernel_phys_start: u8;
    static __kernel_end: u8;
}

/// The physical range the kernel image occupies (boot code and tables,
/// rodata, text, data, bss).
pub fn kernel_image() -> (u64, u64) {
    // Only the addresses of the linker script's symbols are taken.
    (&raw const __kernel_phys_start as u64, &raw const __kernel_end as u64 - super::KERNEL_BASE)
}
