//! The CPU's tables: a GDT with a TSS (whose IST 1 stack takes double
//! faults), and an IDT for all 256 vectors. Breakpoints return (and are
//! counted, for the tests); any other exception prints what happened and
//! where, and ends the machine with a failure. Vectors 32 and up are
//! interrupts: acknowledged at the local APIC, then passed to the handler
//! the kernel registered with [`set_handler`].
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

core::arch::global_asm!(
    r#"
    .macro isr_noerr n
    .global axiom_isr\n
axiom_isr\n:
    push 0
    push \n
    jmp axiom_isr_common
    .endm
    .macro isr_err n
    .global axiom_isr\n
axiom_isr\n:
    push \n
    jmp axiom_isr_common
    .endm

    .section .text
    isr_noerr 0
    isr_noerr 1
    isr_noerr 2
    isr_noerr 3
    isr_noerr 4
    isr_noerr 5
    isr_noerr 6
    isr_noerr 7
    isr_err 8
    isr_noerr 9
    isr_err 10
    isr_err 11
    isr_err 12
    isr_err 13
    isr_err 14
    isr_noerr 15
    isr_noerr 16
    isr_err 17
    isr_noerr 18
    isr_noerr 19
    isr_noerr 20
    isr_err 21
    isr_noerr 22
    isr_noerr 23
    isr_noerr 24
    isr_noerr 25
    isr_noerr 26
    isr_noerr 27
    isr_noerr 28
    isr_err 29
    isr_err 30
    isr_noerr 31

    // Interrupt vectors 32..=255: 16-byte stubs at `axiom_irq_stubs +
    // (vector - 32) * 16`, each `push 0; push vector; jmp common`.
    .balign 16
    .global axiom_irq_stubs
axiom_irq_stubs:
    .set vec, 32
    .rept 224
    .balign 16
    .byte 0x6a, 0x00
    .byte 0x68
    .long vec
    jmp axiom_isr_common
    .set vec, vec + 1
    .endr

axiom_isr_common:
    // From user mode (CS's privilege bits set): the kernel's GS.
    test qword ptr [rsp + 24], 3
    jz 4f
    swapgs
4:
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    mov rdi, rsp
    cld
    call axiom_exception
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    test qword ptr [rsp + 24], 3
    jz 5f
    swapgs
5:
    add rsp, 16
    iretq

    .section .rodata
    .balign 8
    .global axiom_isr_table
axiom_isr_table:
    .quad axiom_isr0, axiom_isr1, axiom_isr2, axiom_isr3, axiom_isr4, axiom_isr5, axiom_isr6, axiom_isr7
    .quad axiom_isr8, axiom_isr9, axiom_isr10, axiom_isr11, axiom_isr12, axiom_isr13, axiom_isr14, axiom_isr15
    .quad axiom_isr16, axiom_isr17, axiom_isr18, axiom_isr19, axiom_isr20, axiom_isr21, axiom_isr22, axiom_isr23
    .quad axiom_isr24, axiom_isr25, axiom_isr26, axiom_isr27, axiom_isr28, axiom_isr29, axiom_isr30, axiom_isr31
    "#
);

unsafe extern "C" {
    static axiom_isr_table: [u64; 32];
    static axiom_irq_stubs: u8;
}

/// The kernel's interrupt handlers by vector (0: none).
static HANDLERS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];
/// Interrupts that arrived with no handler.
static UNHANDLED: AtomicU64 = AtomicU64::new(0);

/// Registers `handler` for interrupt `vector` (32 and up): it runs with
/// interrupts off, after the local APIC was acknowledged, so it may
/// switch to another thread.
pub fn set_handler(vector: u8, handler: fn(u8)) {
    assert!(vector >= 32, "vectors below 32 are exceptions");
    HANDLERS[vector as usize].store(handler as usize, Ordering::Release);
}

/// Interrupts that arrived with no handler registered.
pub fn unhandled_interrupts() -> u64 {
    UNHANDLED.load(Ordering::Relaxed)
}

/// Lets interrupts in.
pub fn enable_interrupts() {
    // SAFETY: `sti`; the IDT handles every vector.
    unsafe { core::arch::asm!("sti", options(nomem, nostack)) };
}

/// Keeps interrupts out; returns whether they were in.
pub fn disable_interrupts() -> bool {
    let flags: u64;
    // SAFETY: reads RFLAGS and clears IF; no memory is touched.
    unsafe { core::arch::asm!("pushfq", "pop {}", "cli", out(reg) flags, options(nomem)) };
    flags & (1 << 9) != 0
}

/// Waits for the next interrupt with interrupts on, and returns with
/// them as they were (`sti; hlt` cannot lose a wake-up between the two).
pub fn wait_for_interrupt() {
    let on = disable_interrupts();
    // SAFETY: `sti; hlt` enables interrupts and halts in one window; the
    // handler runs, then `cli` restores the caller's state below.
    unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) };
    if on {
        enable_interrupts();
    }
}

/// The registers an exception stub saved, then what the CPU pushed.
#[repr(C)]
struct Frame {
    r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    rdi: u64,
    rsi: u64,
    rdx: u64,
    rcx: u64,
    rax: u64,
    vector: u64,
    error: u64,
    rip: u64,
    cs: u64,
    rflags: u64,
    rsp: u64,
    ss: u64,
}

static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);

/// An exception in user mode.
#[derive(Clone, Copy, Debug)]
pub struct UserFault {
    /// The exception vector (14: page fault, 13: general protection...).
    pub vector: u8,
    /// The error code the CPU pushed (0 if none).
    pub error: u64,
    /// The faulting address (page faults).
    pub address: u64,
    /// Where the program was (its instruction pointer).
    pub pc: u64,
}

static USER_FAULT: AtomicUsize = AtomicUsize::new(0);

/// Registers what happens to a user program that faults; `handler` runs
/// on its kernel stack with interrupts off, and must not return to the
/// faulting code unless it fixed the cause.
pub fn set_user_fault_handler(handler: fn(&UserFault)) {
    USER_FAULT.store(handler as usize, Ordering::Release);
}

const NAMES: [&str; 32] = [
    "divide error",
    "debug",
    "NMI",
    "breakpoint",
    "overflow",
    "bound range",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor overrun",
    "invalid TSS",
    "segment not present",
    "stack fault",
    "general protection",
    "page fault",
    "reserved",
    "x87 error",
    "alignment check",
    "machine check",
    "SIMD error",
    "virtualization",
    "control protection",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security",
    "reserved",
];

#[unsafe(no_mangle)]
extern "C" fn axiom_exception(f: &mut Frame) {
    if f.vector >= 32 {
        let vector = f.vector as u8;
        if vector == super::apic::SPURIOUS_VECTOR {
            return;
        }
        super::apic::eoi();
        let h = HANDLERS[vector as usize].load(Ordering::Acquire);
        if h == 0 {
            UNHANDLED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // SAFETY: only `set_handler` stores here, and it stores `fn(u8)`s.
        let handler: fn(u8) = unsafe { core::mem::transmute::<usize, fn(u8)>(h) };
        handler(vector);
        return;
    }
    if f.vector == 3 {
        BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut cr2: u64 = 0;
    if f.vector == 14 {
        // SAFETY: reads the faulting address; no side effects.
        unsafe { core::arch::asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack)) };
    }
    if f.cs & 3 == 3 {
        // A user program's fault: the kernel decides (it ends the process).
        let h = USER_FAULT.load(Ordering::Acquire);
        if h != 0 {
            let fault =
                UserFault { vector: f.vector as u8, error: f.error, address: cr2, pc: f.rip };
            // SAFETY: only `set_user_fault_handler` stores here, a `fn(&UserFault)`.
            let handler: fn(&UserFault) =
                unsafe { core::mem::transmute::<usize, fn(&UserFault)>(h) };
            handler(&fault);
            return;
        }
    }
    let mut line = [0u8; 160];
    let n = format_exception(&mut line, f, cr2);
    super::console(&line[..n]);
    super::exit(false);
}

/// `axiom: exception 14 (page fault) at rip 0x... error 0x2 address 0x...`
fn format_exception(out: &mut [u8], f: &Frame, cr2: u64) -> usize {
    struct W<'a>(&'a mut [u8], usize);
    impl core::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &b in s.as_bytes() {
                if self.1 < self.0.len() {
                    self.0[self.1] = b;
                    self.1 += 1;
                }
            }
            Ok(())
        }
    }
    let mut w = W(out, 0);
    let name = NAMES.get(f.vector as usize).copied().unwrap_or("?");
    let _ = core::fmt::Write::write_fmt(
        &mut w,
        format_args!(
            "axiom: exception {} ({name}) at rip {:#x} error {:#x} address {cr2:#x} rsp {:#x}\n",
            f.vector, f.rip, f.error, f.rsp
        ),
    );
    w.1
}

/// One IDT gate.
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    zero: u32,
}

/// The interrupt descriptor table, shared by every CPU.
#[repr(C, align(16))]
struct Idt([Gate; 256]);

/// One CPU's GDT (with its TSS descriptor), TSS and double-fault stack.
#[repr(C, align(16))]
struct CpuTables {
    gdt: [u64; 8],
    tss: [u32; 26],
    df_stack: [u8; 8192],
}

struct Shared<T>(UnsafeCell<T>);
// SAFETY: the IDT is written once by the boot CPU in `init` before any
// other CPU starts or interrupts are on; each CPU's tables and per-CPU
// block are written only by that CPU (in `init_cpu`, and its kernel stack
// slots in `set_kernel_stack` with interrupts off); otherwise only the
// hardware and this CPU's own `gs:` reads see them.
unsafe impl<T> Sync for Shared<T> {}

const NO_GATE: Gate = Gate {
    offset_low: 0,
    selector: 0,
    ist: 0,
    attributes: 0,
    offset_mid: 0,
    offset_high: 0,
    zero: 0,
};

static IDT: Shared<Idt> = Shared(UnsafeCell::new(Idt([NO_GATE; 256])));

static TABLES: [Shared<CpuTables>; super::MAX_CPUS] = [const {
    Shared(UnsafeCell::new(CpuTables { gdt: [0; 8], tss: [0; 26], df_stack: [0; 8192] }))
}; super::MAX_CPUS];

#[repr(C, packed)]
struct Pointer {
    limit: u16,
    base: u64,
}

/// On the boot CPU: builds the IDT, then loads this CPU's tables as CPU 0.
pub fn init() {
    // SAFETY: runs once at boot on the only CPU running, before interrupts
    // are enabled (see `Shared`).
    let idt = unsafe { &mut *IDT.0.get() };
    let stubs = &raw const axiom_irq_stubs as u64;
    for (v, gate) in idt.0.iter_mut().enumerate() {
        // SAFETY: the table of the 32 exception stubs, read only.
        let h = if v < 32 { unsafe { axiom_isr_table[v] } } else { stubs + (v as u64 - 32) * 16 };
        *gate = Gate {
            offset_low: h as u16,
            selector: 0x08,
            ist: if v == 8 { 1 } else { 0 },
            attributes: 0x8e,
            offset_mid: (h >> 16) as u16,
            offset_high: (h >> 32) as u32,
            zero: 0,
        };
    }
    init_cpu(0);
}

/// Loads CPU `index`'s GDT and TSS, the shared IDT, and its GS base; run
/// once on each CPU (the boot CPU through [`init`]).
pub fn init_cpu(index: usize) {
    set_cpu_index(index);
    super::user::init_cpu();
    // SSE for user programs (the kernel itself is built without it):
    // CR0.MP on, CR0.EM off; CR4.OSFXSR and OSXMMEXCPT on.
    // SAFETY: only enables x87/SSE instructions and `fxsave`/`fxrstor`;
    // the context switch saves and restores their state.
    unsafe {
        core::arch::asm!(
            "mov {t}, cr0",
            "and {t}, ~4",
            "or {t}, 2",
            "mov cr0, {t}",
            "mov {t}, cr4",
            "or {t}, 0x600",
            "mov cr4, {t}",
            "fninit",
            t = out(reg) _,
            options(nostack),
        )
    };
    // SAFETY: only CPU `index` touches its tables, once, with interrupts
    // off; the tables are static, so the hardware's pointers stay valid.
    unsafe {
        let t = &mut *TABLES[index].0.get();
        // Kernel code 0x08, kernel data 0x10, then the order SYSRET needs:
        // user code32 0x18 (unused), user data 0x20, user code64 0x28;
        // the TSS at 0x30.
        t.gdt = [
            0,
            0x00af_9a00_0000_ffff,
            0x00cf_9200_0000_ffff,
            0x00cf_fa00_0000_ffff,
            0x00cf_f200_0000_ffff,
            0x00af_fa00_0000_ffff,
            0,
            0,
        ];
        // The double-fault stack (IST 1): its top, 16-byte aligned.
        let ist1 = (t.df_stack.as_ptr() as u64 + t.df_stack.len() as u64) & !15;
        t.tss[9] = ist1 as u32;
        t.tss[10] = (ist1 >> 32) as u32;
        t.tss[25] = 104 << 16; // I/O map base beyond the limit: no I/O map.
        let base = t.tss.as_ptr() as u64;
        let limit = 103u64;
        t.gdt[6] = (limit & 0xffff)
            | (base & 0xff_ffff) << 16
            | 0x89 << 40
            | ((limit >> 16) & 0xf) << 48
            | ((base >> 24) & 0xff) << 56;
        t.gdt[7] = base >> 32;
        let gdt = Pointer { limit: (8 * 8 - 1) as u16, base: t.gdt.as_ptr() as u64 };
        let idt = Pointer { limit: (256 * 16 - 1) as u16, base: IDT.0.get() as u64 };
        core::arch::asm!(
            "lgdt [{gdt}]",
            "push 0x08",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov {tmp:x}, 0x10",
            "mov ds, {tmp:x}",
            "mov es, {tmp:x}",
            "mov ss, {tmp:x}",
            "mov {tmp:x}, 0x30",
            "ltr {tmp:x}",
            "lidt [{idt}]",
            gdt = in(reg) &gdt,
            idt = in(reg) &idt,
            tmp = out(reg) _,
        );
    }
}

/// Each CPU's own block, which its (kernel) GS base points at: the CPU's
/// index (`gs:[0]`), a scratch slot for the user stack pointer at system
/// call entry (`gs:[8]`), and the running task's kernel stack top
/// (`gs:[16]`).
#[repr(C, align(64))]
struct PerCpu {
    index: u64,
    user_rsp: u64,
    kernel_stack: u64,
}

static PER_CPU: [Shared<PerCpu>; super::MAX_CPUS] = {
    let mut blocks =
        [const { Shared(UnsafeCell::new(PerCpu { index: 0, user_rsp: 0, kernel_stack: 0 })) };
            super::MAX_CPUS];
    let mut i = 0;
    while i < super::MAX_CPUS {
        blocks[i] =
            Shared(UnsafeCell::new(PerCpu { index: i as u64, user_rsp: 0, kernel_stack: 0 }));
        i += 1;
    }
    blocks
};

/// Points this CPU's GS base at per-CPU block `index`.
pub fn set_cpu_index(index: usize) {
    let block = PER_CPU[index].0.get() as u64;
    // SAFETY: IA32_GS_BASE (0xc0000101) only changes what `gs:` addresses;
    // the block is static and read only through `cpu_index`.
    unsafe {
        core::arch::asm!("wrmsr", in("ecx") 0xc000_0101u32, in("eax") block as u32,
            in("edx") (block >> 32) as u32, options(nostack, nomem))
    };
}

/// Sets the kernel stack this CPU enters on from user mode (system calls
/// and interrupts): the per-CPU slot and the TSS's RSP0.
pub fn set_kernel_stack(top: u64) {
    let index = cpu_index();
    // SAFETY: only this CPU writes its own per-CPU block and TSS, with
    // interrupts off (its caller, the context switch, runs so); the
    // hardware reads RSP0 only on a privilege change.
    unsafe {
        (*PER_CPU[index].0.get()).kernel_stack = top;
        let t = &mut *TABLES[index].0.get();
        core::ptr::write_volatile(&mut t.tss[1], top as u32);
        core::ptr::write_volatile(&mut t.tss[2], (top >> 32) as u32);
    }
}

/// This CPU's index (0 for the boot CPU, then in start-up order).
pub fn cpu_index() -> usize {
    let index: u64;
    // SAFETY: GS points at this CPU's static block (set by `init` or at AP
    // start-up); word 0 is its index.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) index, options(nostack, readonly)) };
    index as usize
}

/// Executes `int3`; the handler counts it and returns.
pub fn breakpoint() {
    // SAFETY: raises a breakpoint exception, which `init`'s IDT handles
    // and returns from.
    unsafe { core::arch::asm!("int3") };
}

/// Breakpoint exceptions handled so far.
pub fn breakpoints() -> u64 {
    BREAKPOINTS.load(Ordering::Relaxed)
}

/// Touches an unmapped address: the page-fault path (for the harness).
pub fn fault() {
    // SAFETY: deliberately reads an unmapped address (user half, no process); the
    // page-fault handler reports it and ends the machine.
    unsafe { core::ptr::read_volatile(0x4000_0000_0000 as *const u8) };
}
