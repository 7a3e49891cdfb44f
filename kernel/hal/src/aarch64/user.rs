//! User mode (EL0): the `svc` entry (Linux's arm64 convention: number in
//! x8, arguments in x0 to x5, result in x0), the first entry into a
//! program, the thread pointer programs keep in TPIDR_EL0, and copying
//! between the kernel and user memory, which checks every page in the
//! live page tables first (present, user, writable for writes), so a bad
//! pointer is an error, never a kernel fault.
#![allow(unsafe_code)]

use super::MAX_CPUS;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The first address above user space (TTBR0's 47 bits).
pub const USER_TOP: u64 = 1 << 47;

/// A test program (at 0x400000): writes "hello from EL0 ok\n" (18 bytes)
/// and exits with getpid() + 40 (`mov x8, #64; mov x0, #1; adr x1, msg;
/// mov x2, #18; svc #0; mov x8, #172; svc #0; add x0, x0, #40; mov x8,
/// #93; svc #0; brk #0`).
pub const TEST_HELLO: &[u8] = &[
    0x08, 0x08, 0x80, 0xd2, 0x20, 0x00, 0x80, 0xd2, 0x21, 0x01, 0x00, 0x10, 0x42, 0x02, 0x80, 0xd2,
    0x01, 0x00, 0x00, 0xd4, 0x88, 0x15, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0x00, 0xa0, 0x00, 0x91,
    0xa8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4, 0x00, 0x00, 0x20, 0xd4, 0x68, 0x65, 0x6c, 0x6c,
    0x6f, 0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20, 0x45, 0x4c, 0x30, 0x20, 0x6f, 0x6b, 0x0a,
];

/// A test program that writes a byte to the kernel's image
/// (0xffffffff80100000: `movz`/`movk` the address, `strb`, `brk`).
pub const TEST_POKE_KERNEL: &[u8] = &[
    0x00, 0x02, 0xb0, 0xd2, 0xe0, 0xff, 0xdf, 0xf2, 0xe0, 0xff, 0xff, 0xf2, 0x21, 0x00, 0x80, 0x52,
    0x01, 0x00, 0x00, 0x39, 0x00, 0x00, 0x20, 0xd4,
];

core::arch::global_asm!(
    r#"
    .section .text
    .global axiom_enter_user
// x0: entry, x1: user stack, x2: first argument, x3: kernel stack top.
axiom_enter_user:
    msr daifset, #2
    mov sp, x3
    msr sp_el0, x1
    msr elr_el1, x0
    msr spsr_el1, xzr
    mov x0, x2
    mov x1, xzr
    mov x2, xzr
    mov x3, xzr
    mov x4, xzr
    mov x5, xzr
    mov x6, xzr
    mov x7, xzr
    mov x8, xzr
    mov x9, xzr
    mov x10, xzr
    mov x11, xzr
    mov x12, xzr
    mov x13, xzr
    mov x14, xzr
    mov x15, xzr
    mov x16, xzr
    mov x17, xzr
    mov x18, xzr
    mov x19, xzr
    mov x20, xzr
    mov x21, xzr
    mov x22, xzr
    mov x23, xzr
    mov x24, xzr
    mov x25, xzr
    mov x26, xzr
    mov x27, xzr
    mov x28, xzr
    mov x29, xzr
    mov x30, xzr
    eret
    "#
);

unsafe extern "C" {
    fn axiom_enter_user(entry: u64, stack: u64, arg: u64, kernel_stack: u64) -> !;
}

/// What a program had in its registers at `svc` (the kernel may change
/// any of it; x0 is the result).
pub type SyscallFrame = super::cpu::Frame;

impl SyscallFrame {
    /// The system call's number (x8; Linux's generic table).
    pub fn number(&self) -> u64 {
        self.x[8]
    }

    /// Its six arguments (x0 to x5).
    pub fn args(&self) -> [u64; 6] {
        [self.x[0], self.x[1], self.x[2], self.x[3], self.x[4], self.x[5]]
    }

    /// Sets what the program sees returned (x0).
    pub fn set_result(&mut self, value: u64) {
        self.x[0] = value;
    }
}

static HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Registers the kernel's system call handler; it runs on the task's
/// kernel stack with interrupts on.
pub fn set_syscall_handler(handler: fn(&mut SyscallFrame)) {
    HANDLER.store(handler as usize, Ordering::Release);
}

/// The `svc` from EL0 (called by the exception dispatch).
pub(super) fn syscall(frame: &mut SyscallFrame) {
    let h = HANDLER.load(Ordering::Acquire);
    if h == 0 {
        frame.set_result((-38i64) as u64); // ENOSYS
        return;
    }
    // SAFETY: only `set_syscall_handler` stores here, a `fn(&mut SyscallFrame)`.
    let handler: fn(&mut SyscallFrame) = unsafe { core::mem::transmute(h) };
    super::enable_interrupts();
    handler(frame);
    super::disable_interrupts();
}

/// Each CPU's running task's kernel stack top (where `enter` leaves
/// SP_EL1, so exceptions from EL0 land there).
static KERNEL_STACK: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Records the kernel stack of the task about to run on this CPU.
pub fn set_kernel_stack(top: u64) {
    KERNEL_STACK[super::cpu_index()].store(top, Ordering::Relaxed);
}

/// Leaves the kernel for a program: `pc = entry`, `sp = stack`, `x0 =
/// arg`, other registers zero, interrupts on. System calls and
/// interrupts come back on the running task's kernel stack.
pub fn enter(entry: u64, stack: u64, arg: u64) -> ! {
    assert!(entry < USER_TOP && stack < USER_TOP, "entering user mode at a kernel address");
    let top = KERNEL_STACK[super::cpu_index()].load(Ordering::Relaxed);
    assert!(top != 0, "entering user mode from a task without a stack");
    // SAFETY: both addresses are in the user half (checked); SPSR 0 is
    // EL0 with interrupts on, so the program can reach only its user
    // pages. The current kernel stack is abandoned: it is where system
    // calls will enter.
    unsafe { axiom_enter_user(entry, stack, arg, top) }
}

/// This CPU's thread pointer (TPIDR_EL0).
pub fn thread_pointer() -> u64 {
    super::cpu::sysreg_read!("tpidr_el0")
}

/// Sets this CPU's thread pointer; `false` (and nothing changed) for a
/// kernel address.
pub fn set_thread_pointer(value: u64) -> bool {
    if value >= USER_TOP {
        return false;
    }
    // SAFETY: TPIDR_EL0 is the program's register; the kernel keeps
    // nothing there.
    unsafe { core::arch::asm!("msr tpidr_el0, {}", in(reg) value, options(nomem, nostack)) };
    true
}

pub use crate::uaccess::{copy_from_user, copy_to_user};
