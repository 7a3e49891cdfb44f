//! The CPU: exception vectors (VBAR_EL1) and their dispatch, interrupt
//! masking, the CPU index (TPIDR_EL1), the GICv3 CPU interface's system
//! registers, semihosting and the deliberate breakpoint and fault. Every
//! exception saves the interrupted registers in a [`Frame`] on the
//! current stack (SP_EL1: a task's kernel stack; from EL0 it is the top
//! of the running task's); system calls from EL0 go to [`super::user`],
//! faults in EL0 to the kernel's handler, anything else unexpected is
//! reported and ends the machine.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

core::arch::global_asm!(
    r#"
    .macro axiom_vector kind
    .balign 0x80
    sub sp, sp, #272
    stp x0, x1, [sp]
    mov x0, #\kind
    b axiom_trap_common
    .endm

    .section .text
    .balign 2048
    .global axiom_vectors
axiom_vectors:
    // Current EL with SP_EL0 (never used): reported.
    axiom_vector 6
    axiom_vector 6
    axiom_vector 6
    axiom_vector 6
    // Current EL with SP_EL1: synchronous, IRQ, FIQ, SError.
    axiom_vector 0
    axiom_vector 1
    axiom_vector 2
    axiom_vector 2
    // Lower EL, AArch64.
    axiom_vector 3
    axiom_vector 4
    axiom_vector 5
    axiom_vector 5
    // Lower EL, AArch32 (never used): reported.
    axiom_vector 7
    axiom_vector 7
    axiom_vector 7
    axiom_vector 7

axiom_trap_common:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x2, sp_el0
    stp x30, x2, [sp, #240]
    mrs x2, elr_el1
    mrs x3, spsr_el1
    stp x2, x3, [sp, #256]
    mov x1, sp
    mov x29, xzr
    bl axiom_trap
    .global axiom_trap_return
axiom_trap_return:
    ldp x2, x3, [sp, #256]
    msr elr_el1, x2
    msr spsr_el1, x3
    ldp x30, x2, [sp, #240]
    msr sp_el0, x2
    ldp x28, x29, [sp, #224]
    ldp x26, x27, [sp, #208]
    ldp x24, x25, [sp, #192]
    ldp x22, x23, [sp, #176]
    ldp x20, x21, [sp, #160]
    ldp x18, x19, [sp, #144]
    ldp x16, x17, [sp, #128]
    ldp x14, x15, [sp, #112]
    ldp x12, x13, [sp, #96]
    ldp x10, x11, [sp, #80]
    ldp x8, x9, [sp, #64]
    ldp x6, x7, [sp, #48]
    ldp x4, x5, [sp, #32]
    ldp x2, x3, [sp, #16]
    ldp x0, x1, [sp]
    add sp, sp, #272
    eret

// Semihosting: w0 the operation, x1 its parameter block. Where the host
// offers no semihosting, HLT is an undefined instruction: the exception
// handler skips it (see `axiom_semihost_hlt`) and returns u64::MAX.
    .global axiom_semihost
axiom_semihost:
    .global axiom_semihost_hlt
axiom_semihost_hlt:
    hlt #0xf000
    ret
"#
);

unsafe extern "C" {
    static axiom_vectors: u8;
    static axiom_semihost_hlt: u8;
    fn axiom_semihost(op: u64, param: u64) -> u64;
}

/// The registers an exception saved: x0 to x30, SP_EL0, ELR_EL1 (where
/// it resumes), SPSR_EL1 (its state). The kernel may change any of it.
#[repr(C)]
#[derive(Debug)]
pub struct Frame {
    /// x0 to x30.
    pub x: [u64; 31],
    /// The EL0 stack pointer.
    pub sp_el0: u64,
    /// Where execution resumes.
    pub elr: u64,
    /// The saved PSTATE.
    pub spsr: u64,
}

/// A handler per interrupt vector (GIC INTID below 256).
static HANDLERS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];
static UNHANDLED: AtomicU64 = AtomicU64::new(0);
static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);
/// Set once semihosting was found missing (its HLT trapped).
static NO_SEMIHOSTING: AtomicU64 = AtomicU64::new(0);

/// Registers `handler` for interrupt `vector` (a GIC INTID): it runs
/// with interrupts off, after the GIC was acknowledged, so it may switch
/// to another thread.
pub fn set_handler(vector: u8, handler: fn(u8)) {
    HANDLERS[vector as usize].store(handler as usize, Ordering::Release);
}

/// Interrupts that arrived with no handler registered.
pub fn unhandled_interrupts() -> u64 {
    UNHANDLED.load(Ordering::Relaxed)
}

/// Breakpoints handled.
pub fn breakpoints() -> u64 {
    BREAKPOINTS.load(Ordering::Relaxed)
}

/// An exception in user mode.
#[derive(Clone, Copy, Debug)]
pub struct UserFault {
    /// The exception class (ESR_EL1.EC: 0x24 data abort, 0x20 instruction
    /// abort, 0x00 undefined instruction...).
    pub vector: u8,
    /// The syndrome (ESR_EL1).
    pub error: u64,
    /// The faulting address (FAR_EL1, for aborts).
    pub address: u64,
    /// Where the program was.
    pub pc: u64,
}

static USER_FAULT: AtomicUsize = AtomicUsize::new(0);

/// Registers what happens to a user program that faults; `handler` runs
/// on its kernel stack with interrupts off, and must not return to the
/// faulting code unless it fixed the cause.
pub fn set_user_fault_handler(handler: fn(&UserFault)) {
    USER_FAULT.store(handler as usize, Ordering::Release);
}

macro_rules! sysreg_read {
    ($name:literal) => {{
        let v: u64;
        // SAFETY: reads a system register; no memory is touched.
        unsafe { core::arch::asm!(concat!("mrs {}, ", $name), out(reg) v, options(nomem, nostack)) };
        v
    }};
}
pub(super) use sysreg_read;

fn esr_name(ec: u64) -> &'static str {
    match ec {
        0x00 => "undefined instruction",
        0x07 => "FP or SIMD access",
        0x15 => "system call",
        0x18 => "system register access",
        0x20 | 0x21 => "instruction abort",
        0x22 => "PC alignment fault",
        0x24 | 0x25 => "data abort",
        0x26 => "SP alignment fault",
        0x2f => "SError",
        0x3c => "breakpoint",
        _ => "exception",
    }
}

#[unsafe(no_mangle)]
extern "C" fn axiom_trap(kind: u64, f: &mut Frame) {
    match kind {
        1 | 4 => interrupt(),
        0 | 3 => {
            let esr = sysreg_read!("esr_el1");
            let ec = esr >> 26;
            if kind == 3 && ec == 0x15 {
                super::user::syscall(f);
                return;
            }
            if kind == 0 && ec == 0x3c {
                BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
                f.elr += 4;
                return;
            }
            if kind == 0 && ec == 0 && f.elr == &raw const axiom_semihost_hlt as u64 {
                NO_SEMIHOSTING.store(1, Ordering::Relaxed);
                f.x[0] = u64::MAX;
                f.elr += 4;
                return;
            }
            let far = sysreg_read!("far_el1");
            if kind == 3 {
                let h = USER_FAULT.load(Ordering::Acquire);
                if h != 0 {
                    let fault = UserFault { vector: ec as u8, error: esr, address: far, pc: f.elr };
                    // SAFETY: only `set_user_fault_handler` stores here, a
                    // `fn(&UserFault)`.
                    let handler: fn(&UserFault) =
                        unsafe { core::mem::transmute::<usize, fn(&UserFault)>(h) };
                    handler(&fault);
                    return;
                }
            }
            report(kind, ec, esr, far, f)
        }
        _ => report(kind, 0, sysreg_read!("esr_el1"), sysreg_read!("far_el1"), f),
    }
}

/// Prints `axiom: exception 0x25 (data abort) at pc ... ESR ... address
/// ...` and ends the machine.
fn report(kind: u64, ec: u64, esr: u64, far: u64, f: &Frame) -> ! {
    struct W<'a>(&'a mut [u8], usize);
    impl core::fmt::Write for W<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.0.len() - self.1);
            self.0[self.1..self.1 + n].copy_from_slice(&s.as_bytes()[..n]);
            self.1 += n;
            Ok(())
        }
    }
    let mut line = [0u8; 200];
    let mut w = W(&mut line, 0);
    let _ = core::fmt::write(
        &mut w,
        format_args!(
            "axiom: exception {ec:#x} ({}) at pc {:#x} ESR {esr:#x} address {far:#x} sp {:#x} \
             (vector kind {kind})\n",
            esr_name(ec),
            f.elr,
            f as *const Frame as u64 + 272
        ),
    );
    let n = w.1;
    super::console(&line[..n]);
    super::exit(false)
}

fn interrupt() {
    while let Some(intid) = super::gic::acknowledge() {
        let h = HANDLERS.get(intid as usize).map_or(0, |h| h.load(Ordering::Acquire));
        if h == 0 {
            UNHANDLED.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        // SAFETY: only `set_handler` stores here, and it stores `fn(u8)`s.
        let handler: fn(u8) = unsafe { core::mem::transmute::<usize, fn(u8)>(h) };
        handler(intid as u8);
        // The handler may have switched threads and come back much later:
        // take what is pending now on the next exception.
        break;
    }
}

/// Installs the exception vectors on this CPU and the boot CPU's index.
pub fn init() {
    init_cpu(0);
}

/// This CPU's vectors and index (TPIDR_EL1).
pub fn init_cpu(index: usize) {
    let vectors = &raw const axiom_vectors as u64;
    // SAFETY: the vector table is the kernel's own, 2 KiB-aligned, and
    // TPIDR_EL1 is the kernel's per-CPU register.
    unsafe {
        core::arch::asm!(
            "msr vbar_el1, {v}",
            "msr tpidr_el1, {i}",
            "isb",
            v = in(reg) vectors,
            i = in(reg) index as u64,
            options(nostack)
        )
    };
}

/// This CPU's index (0 for the boot CPU).
pub fn cpu_index() -> usize {
    sysreg_read!("tpidr_el1") as usize
}

/// This CPU's MPIDR_EL1.
pub fn mpidr() -> u64 {
    sysreg_read!("mpidr_el1")
}

/// Lets interrupts in.
pub fn enable_interrupts() {
    // SAFETY: unmasks IRQs; the vectors handle them.
    unsafe { core::arch::asm!("msr daifclr, #2", options(nomem, nostack)) };
}

/// Keeps interrupts out; returns whether they were in.
pub fn disable_interrupts() -> bool {
    let daif = sysreg_read!("daif");
    // SAFETY: masks IRQs; no memory is touched.
    unsafe { core::arch::asm!("msr daifset, #2", options(nomem, nostack)) };
    daif & (1 << 7) == 0
}

/// Waits for the next interrupt with interrupts on, and returns with
/// them as they were (an interrupt pending while masked still wakes
/// `wfi`, and is taken once unmasked).
pub fn wait_for_interrupt() {
    let on = disable_interrupts();
    // SAFETY: `wfi` with IRQs masked wakes on a pending interrupt; it is
    // taken between the unmask and the mask below.
    unsafe {
        core::arch::asm!(
            "wfi",
            "msr daifclr, #2",
            "isb",
            "msr daifset, #2",
            options(nomem, nostack)
        )
    };
    if on {
        enable_interrupts();
    }
}

/// Parks this CPU until an event (a loop's body, for halting).
pub fn park() {
    // SAFETY: waits for an event; no state changes.
    unsafe { core::arch::asm!("wfe", options(nomem, nostack)) };
}

/// Raises a breakpoint (`brk`); the handler counts it and resumes after.
pub fn breakpoint() {
    // SAFETY: the synchronous exception handler steps over `brk #0`.
    unsafe { core::arch::asm!("brk #0", options(nomem, nostack)) };
}

/// Faults deliberately: reads an unmapped address in the lower half.
pub fn fault() {
    // SAFETY: deliberately faults; the handler reports it and ends the
    // machine.
    unsafe { core::ptr::read_volatile(0xdead_0000 as *const u64) };
}

/// Ends QEMU through semihosting's `SYS_EXIT` (application exit with
/// `status`); returns if the host has no semihosting.
pub fn semihosting_exit(status: u64) {
    if NO_SEMIHOSTING.load(Ordering::Relaxed) != 0 {
        return;
    }
    // ADP_Stopped_ApplicationExit, then the status.
    let block = [0x20026u64, status];
    // SAFETY: SYS_EXIT (0x18) reads the two-word block; without a host,
    // the HLT traps and the handler steps over it.
    unsafe { axiom_semihost(0x18, block.as_ptr() as u64) };
}

/// GICv3: this CPU's interface on (system register access, every
/// priority let through, group 1 enabled).
pub fn gicv3_cpu_on() {
    // SAFETY: ICC_SRE_EL1 (S3_0_C12_C12_5), ICC_PMR_EL1 (S3_0_C4_C6_0),
    // ICC_BPR1_EL1 (S3_0_C12_C12_3) and ICC_IGRPEN1_EL1 (S3_0_C12_C12_7)
    // configure only this CPU's interrupt interface.
    unsafe {
        core::arch::asm!(
            "mrs {t}, S3_0_C12_C12_5",
            "orr {t}, {t}, #1",
            "msr S3_0_C12_C12_5, {t}",
            "isb",
            "mov {t}, #0xff",
            "msr S3_0_C4_C6_0, {t}",
            "msr S3_0_C12_C12_3, xzr",
            "mov {t}, #1",
            "msr S3_0_C12_C12_7, {t}",
            "isb",
            t = out(reg) _,
            options(nostack)
        )
    };
}

/// GICv3: acknowledges group 1's highest pending interrupt (ICC_IAR1_EL1).
pub fn gicv3_acknowledge() -> u32 {
    let v: u64;
    // SAFETY: reading ICC_IAR1_EL1 acknowledges an interrupt; the caller
    // ends it.
    unsafe { core::arch::asm!("mrs {}, S3_0_C12_C12_0", out(reg) v, options(nomem, nostack)) };
    v as u32
}

/// GICv3: ends interrupt `intid` (ICC_EOIR1_EL1).
pub fn gicv3_end(intid: u32) {
    // SAFETY: ends the interrupt this CPU acknowledged.
    unsafe {
        core::arch::asm!("msr S3_0_C12_C12_1, {}", "isb", in(reg) intid as u64, options(nomem, nostack))
    };
}
