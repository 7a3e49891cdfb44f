//! Starting the application processors: INIT and start-up IPIs send each
//! AP to a real-mode trampoline at [`TRAMPOLINE`] that turns on long mode
//! with the kernel's page tables (which must then map the trampoline's two
//! pages at their physical addresses, code read+execute, data writable), finds its own slot (by its APIC id) in
//! the parameter page and calls into the kernel on the stack the boot CPU
//! gave it. APs start in parallel: [`start_ap`] returns at once and
//! [`online`] counts arrivals. The trampoline's code page is written once,
//! then mapped read+execute by the kernel; its parameters live in the
//! next, writable page ([`TRAMPOLINE_DATA`]).
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicUsize, Ordering};

/// Where the trampoline code is copied (start-up IPI vector 0x08).
pub const TRAMPOLINE: u64 = 0x8000;
/// Where its parameters are: CR3 at +0, then from +64 one 32-byte slot per
/// AP: APIC id with bit 63 set (+0), stack top (+8), CPU index (+16),
/// 64-bit entry (+24).
pub const TRAMPOLINE_DATA: u64 = 0x9000;
const SLOTS: u64 = TRAMPOLINE_DATA + 64;

core::arch::global_asm!(
    r#"
    .section .rodata.trampoline, "a"
    .code16
    .global axiom_trampoline_start
axiom_trampoline_start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    // lgdt [disp16]: the GDT pointer's address in the copied page.
    .byte 0x0f, 0x01, 0x16
    .word 0x8000 + tr_gdtr - axiom_trampoline_start
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov eax, dword ptr [0x9000]
    mov cr3, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x900
    wrmsr
    mov eax, cr0
    or eax, 0x80010001
    mov cr0, eax
    .byte 0x66, 0xea
    .long 0x8000 + tr_long - axiom_trampoline_start
    .word 0x08
    .code64
tr_long:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    // This CPU's slot: the one holding its APIC id (CPUID 1, EBX[31:24]).
    mov eax, 1
    cpuid
    shr ebx, 24
    mov rax, 0x8000000000000000
    or rbx, rax
    mov rsi, 0x9040
    mov ecx, 8
4:
    cmp qword ptr [rsi], rbx
    je 5f
    add rsi, 32
    dec ecx
    jnz 4b
6:
    cli
    hlt
    jmp 6b
5:
    mov rsp, qword ptr [rsi + 8]
    mov rdi, qword ptr [rsi + 16]
    mov rax, qword ptr [rsi + 24]
    call rax
    ud2
    .balign 8
    // Accessed bits preset: the page is read-only once the kernel maps it,
    // and the CPU would otherwise write them when loading a segment.
tr_gdt:
    .quad 0
    .quad 0x00af9b000000ffff
    .quad 0x00cf93000000ffff
tr_gdtr:
    .word 23
    .long 0x8000 + tr_gdt - axiom_trampoline_start
    .global axiom_trampoline_end
axiom_trampoline_end:
    .text
    "#
);

unsafe extern "C" {
    static axiom_trampoline_start: u8;
    static axiom_trampoline_end: u8;
}

/// Copies the trampoline code to [`TRAMPOLINE`], which must be mapped
/// writable now, and returns its pages: (code, parameters), physical
/// addresses below 1 MiB. The kernel then maps the code read+execute and
/// the parameters writable at their physical addresses (an AP starts in
/// real mode there), and unmaps both once every AP has arrived.
pub fn trampoline() -> Option<(u64, u64)> {
    install_trampoline();
    Some((TRAMPOLINE, TRAMPOLINE_DATA))
}

fn install_trampoline() {
    let start = &raw const axiom_trampoline_start;
    let len = &raw const axiom_trampoline_end as usize - start as usize;
    assert!(len <= 4096, "trampoline larger than a page");
    // SAFETY: the trampoline page is RAM below 1 MiB, in the physical map,
    // that the frame allocator never hands out; nothing else uses it.
    unsafe {
        core::ptr::copy_nonoverlapping(start, super::phys_to_virt(TRAMPOLINE) as *mut u8, len)
    };
}

/// APs that reached the kernel.
static ALIVE: AtomicUsize = AtomicUsize::new(0);
/// The kernel's AP entry (`fn(cpu) -> !`).
static KERNEL_ENTRY: AtomicUsize = AtomicUsize::new(0);

/// Where an AP lands in long mode: its CPU tables, its local APIC, then
/// the kernel.
extern "C" fn ap_entry(index: usize) -> ! {
    super::cpu::init_cpu(index);
    super::apic::enable();
    ALIVE.fetch_add(1, Ordering::SeqCst);
    let entry = KERNEL_ENTRY.load(Ordering::Acquire);
    // SAFETY: only `start_ap` stores here, and it stores a `fn(usize) -> !`.
    let entry: fn(usize) -> ! = unsafe { core::mem::transmute::<usize, fn(usize) -> !>(entry) };
    entry(index)
}

/// Sends processor `index` (the MADT's `index`th, 1 to `MAX_CPUS - 1`)
/// to the trampoline, to run `entry(index)` on a stack whose top is
/// `stack_top` (16-byte aligned, kept for the CPU's life); returns at once
/// (see [`online`]).
pub fn start_ap(index: usize, stack_top: u64, entry: fn(usize) -> !) -> bool {
    let Some(apic_id) = super::apic_id(index) else { return false };
    if index == 0 || index >= super::MAX_CPUS {
        return false;
    }
    KERNEL_ENTRY.store(entry as usize, Ordering::Release);
    let cr3 = super::paging::root();
    assert!(cr3 < 1 << 32 && stack_top.is_multiple_of(16), "AP start-up parameters out of range");
    let slot = SLOTS + 32 * (index as u64 - 1);
    let params = [
        apic_id as u64 | 1 << 63,
        stack_top,
        index as u64,
        ap_entry as extern "C" fn(usize) -> ! as usize as u64,
    ];
    // SAFETY: the parameter page is RAM below 1 MiB, writable in the
    // physical map, reserved for the trampoline; this AP's slot is read only by
    // the AP, after the IPIs below.
    unsafe {
        (super::phys_to_virt(TRAMPOLINE_DATA) as *mut u64).write_volatile(cr3);
        for (i, p) in params.iter().enumerate() {
            (super::phys_to_virt(slot + 8 * i as u64) as *mut u64).write_volatile(*p);
        }
    }
    core::sync::atomic::fence(Ordering::SeqCst);
    // INIT, then the start-up IPI at the trampoline's page (modern CPUs
    // and QEMU need no delay between them).
    super::apic::send_ipi(apic_id, 0x4500);
    super::apic::send_ipi(apic_id, 0x4600 | (TRAMPOLINE >> 12) as u32);
    true
}

/// Application processors that reached the kernel so far.
pub fn online() -> usize {
    ALIVE.load(Ordering::SeqCst)
}

/// The vector of TLB shoot-down requests.
pub const SHOOTDOWN_VECTOR: u8 = 0xf0;
static SHOOTDOWN_ACKS: AtomicUsize = AtomicUsize::new(0);
/// One shoot-down at a time.
static SHOOTDOWN: spin::Mutex<()> = spin::Mutex::new(());

/// Another CPU changed the page tables: drop every cached translation.
pub(super) fn shootdown_handler(_vector: u8) {
    super::paging::flush_all();
    SHOOTDOWN_ACKS.fetch_add(1, Ordering::SeqCst);
}

/// Drops cached translations on every CPU after a change that removed
/// rights (write, execute, presence): this CPU at once, the others by an
/// IPI whose handling each acknowledges before this returns. Call with
/// interrupts on (a CPU waiting here must still take others' requests).
pub fn flush_tlb_everywhere() {
    super::paging::flush_all();
    let others = online();
    if others == 0 {
        return;
    }
    let _one = SHOOTDOWN.lock();
    let target = SHOOTDOWN_ACKS.load(Ordering::SeqCst) + others;
    // Fixed delivery to all CPUs but this one (shorthand 0b11).
    super::apic::send_ipi(0, 3 << 18 | SHOOTDOWN_VECTOR as u32);
    while SHOOTDOWN_ACKS.load(Ordering::SeqCst) < target {
        core::hint::spin_loop();
    }
}
