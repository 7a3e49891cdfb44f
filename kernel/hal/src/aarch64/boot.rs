//! The arm64 entry. A loader (QEMU `virt`'s `-kernel`, the Raspberry Pi
//! firmware) jumps to the Image's first byte at its physical address,
//! 2 MiB-aligned, with the MMU off, at EL2 or EL1, `x0` holding the device
//! tree's physical address (Linux's arm64 boot protocol). The boot code
//! drops to EL1, clears `.bss`, builds the boot page tables (the GiB
//! holding the image mapped at its own address for the switch, the GiBs
//! holding the image and the device tree in the physical map at
//! [`super::PHYS_OFFSET`], and the image at its link address in the top
//! 2 GiB), turns the MMU on, jumps to its link address and calls
//! `kernel_main(device tree)` on the boot stack. Secondary CPUs enter at
//! `axiom_secondary_entry` (PSCI `CPU_ON`) and take the same path to
//! [`super::smp`]'s Rust entry.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

/// The MAIR attribute indices the page tables use: 0 normal write-back
/// memory, 1 device memory (nGnRE).
pub const MAIR: u64 = 0xff | (0x04 << 8);

core::arch::global_asm!(
    r#"
    .section .text.head, "ax"
    .global axiom_image_start
axiom_image_start:
    // The Image header (Linux's Documentation/arch/arm64/booting.rst):
    // code0/code1, text_offset 0, image size, flags (little-endian, 4 KiB
    // pages, anywhere in RAM), reserved, the "ARM\x64" magic.
    b axiom_primary_entry
    .long 0
    .quad 0
    .quad __image_size
    .quad 0xa
    .quad 0
    .quad 0
    .quad 0
    .ascii "ARM\x64"
    .long 0

axiom_primary_entry:
    mov x19, x0
    bl axiom_to_el1
    // Clear .bss (at its physical address: the MMU is off).
    adrp x1, __bss_start
    add x1, x1, :lo12:__bss_start
    adrp x2, __bss_end
    add x2, x2, :lo12:__bss_end
1:  cmp x1, x2
    b.hs 2f
    stp xzr, xzr, [x1], #16
    b 1b
2:
    adrp x20, axiom_image_start
    // Refuse an image not 2 MiB-aligned: the boot tables map it in 2 MiB
    // blocks. Nothing can be printed yet: park.
    tst x20, #0x1fffff
    b.ne 9f
    // boot_l1: 1 GiB blocks of normal memory for the GiBs holding the
    // image and the device tree; boot_root[0..256) (identity, the image's
    // 512 GiB slot) and boot_root[256] (the physical map) point at it.
    adrp x1, axiom_boot_l1
    adrp x2, axiom_boot_root
    mov x3, #0x701                  // block: valid, AF, inner shareable, attr 0
    lsr x4, x20, #30
    and x4, x4, #511
    lsl x5, x4, #30
    orr x5, x5, x3
    str x5, [x1, x4, lsl #3]
    lsr x4, x19, #30
    and x4, x4, #511
    lsl x5, x4, #30
    orr x5, x5, x3
    str x5, [x1, x4, lsl #3]
    orr x5, x1, #3                  // table descriptor
    lsr x4, x20, #39
    str x5, [x2, x4, lsl #3]
    str x5, [x2, #256 * 8]
    // boot_root[511] -> boot_l1_high; its entry 510 -> boot_l2_high, whose
    // first 16 entries map 32 MiB from the image's start in 2 MiB blocks.
    adrp x1, axiom_boot_l1_high
    orr x5, x1, #3
    str x5, [x2, #511 * 8]
    adrp x4, axiom_boot_l2_high
    orr x5, x4, #3
    str x5, [x1, #510 * 8]
    mov x6, #0
3:  lsl x5, x6, #21
    add x5, x5, x20
    orr x5, x5, x3
    str x5, [x4, x6, lsl #3]
    add x6, x6, #1
    cmp x6, #16
    b.ne 3b
    bl axiom_mmu_on
    // Run at the link address from here on.
    ldr x1, =axiom_primary_high
    br x1
9:  wfe
    b 9b

// Secondary CPUs (PSCI CPU_ON): x0 is the virtual address of their start
// slot (see smp.rs).
    .global axiom_secondary_entry
axiom_secondary_entry:
    mov x19, x0
    bl axiom_to_el1
    bl axiom_mmu_on
    ldr x1, =axiom_secondary_high
    br x1

// Leaves EL2 for EL1 (if entered at EL2), with the timers, the GICv3
// system registers and the FP unit open to EL1; returns at EL1 with
// interrupts masked.
axiom_to_el1:
    mrs x1, CurrentEL
    lsr x1, x1, #2
    cmp x1, #2
    b.ne 1f
    mov x1, #(1 << 31)              // HCR_EL2.RW: EL1 is AArch64
    msr hcr_el2, x1
    mov x1, #3                      // CNTHCTL_EL2: EL1PCTEN, EL1PCEN
    msr cnthctl_el2, x1
    msr cntvoff_el2, xzr
    mov x1, #0x33ff                 // CPTR_EL2: RES1 bits, no FP trap
    msr cptr_el2, x1
    msr hstr_el2, xzr
    mrs x1, id_aa64pfr0_el1         // GIC system registers implemented?
    ubfx x1, x1, #24, #4
    cbz x1, 2f
    mov x1, #0xf                    // ICC_SRE_EL2: Enable, DIB, DFB, SRE
    msr icc_sre_el2, x1
    isb
2:  mrs x1, midr_el1
    msr vpidr_el2, x1
    mrs x1, mpidr_el1
    msr vmpidr_el2, x1
    ldr x1, =0x30d00800             // SCTLR_EL1: RES1 bits, MMU off
    msr sctlr_el1, x1
    mov x1, #0x3c5                  // SPSR_EL2: EL1h, DAIF masked
    msr spsr_el2, x1
    msr elr_el2, x30
    eret
1:  msr daifset, #0xf
    ret

// Turns the MMU on with the boot tables (TTBR0 and TTBR1 both), MAIR and
// TCR as the kernel keeps them, FP and SIMD open to EL0 and EL1.
axiom_mmu_on:
    mov x1, #(3 << 20)              // CPACR_EL1.FPEN
    msr cpacr_el1, x1
    ldr x1, ={mair}
    msr mair_el1, x1
    // TCR_EL1: T0SZ 17 (a 47-bit user half), T1SZ 16, 4 KiB granules,
    // write-back inner shareable walks, IPS from ID_AA64MMFR0_EL1.
    ldr x1, =0x00000000b5103511
    mrs x2, id_aa64mmfr0_el1
    and x2, x2, #7
    bfi x1, x2, #32, #3
    msr tcr_el1, x1
    adrp x1, axiom_boot_root
    msr ttbr0_el1, x1
    msr ttbr1_el1, x1
    isb
    tlbi vmalle1
    dsb nsh
    isb
    // SCTLR_EL1: MMU, caches, stack alignment checks, EL0 may use WFI,
    // WFE, DC ZVA, CTR_EL0 and cache maintenance.
    ldr x1, =0x34d5d81d
    msr sctlr_el1, x1
    isb
    ic iallu
    dsb nsh
    isb
    ret
    .ltorg

    .section .text
axiom_primary_high:
    ldr x1, =axiom_boot_stack_top
    mov sp, x1
    ldr x1, =axiom_boot_phys
    str x20, [x1]
    msr tpidr_el1, xzr
    mov x29, xzr
    mov x30, xzr
    mov x0, x19
    bl kernel_main
4:  wfe
    b 4b

axiom_secondary_high:
    // The kernel's tables, both halves (the stack is in its heap).
    ldr x1, =axiom_kernel_root
    ldr x1, [x1]
    msr ttbr1_el1, x1
    msr ttbr0_el1, x1
    isb
    tlbi vmalle1
    dsb nsh
    isb
    // x19: the slot (stack top, then the Rust entry's argument).
    ldr x1, [x19]
    mov sp, x1
    mov x29, xzr
    mov x30, xzr
    mov x0, x19
    bl axiom_secondary_main
5:  wfe
    b 5b
    .ltorg

    .section .bss.boot, "aw", %nobits
    .balign 4096
    .global axiom_boot_l1
axiom_boot_root:
    .space 4096
axiom_boot_l1:
    .space 4096
axiom_boot_l1_high:
    .space 4096
axiom_boot_l2_high:
    .space 4096
    .balign 16
axiom_boot_stack:
    .space 65536
axiom_boot_stack_top:
"#,
    mair = const MAIR,
);

unsafe extern "C" {
    static __image_start: u8;
    static __kernel_end: u8;
}

/// The image's physical load address (stored by the boot code).
#[unsafe(no_mangle)]
static axiom_boot_phys: AtomicU64 = AtomicU64::new(0);

/// Where the image was loaded (physical).
pub fn image_phys() -> u64 {
    axiom_boot_phys.load(Ordering::Relaxed)
}

/// The kernel image's physical range: (start, end), `.bss` included.
pub fn kernel_image() -> (u64, u64) {
    let start = &raw const __image_start as u64;
    let end = &raw const __kernel_end as u64;
    (image_phys(), image_phys() + (end - start))
}

/// The offset from a physical address of the image to its virtual one:
/// physical `p` of the image is at `kernel_base() + p`.
pub fn kernel_base() -> u64 {
    (&raw const __image_start as u64).wrapping_sub(image_phys())
}
