//! User mode: the `syscall` entry (Linux's x86-64 convention: number in
//! rax, arguments in rdi, rsi, rdx, r10, r8, r9, result in rax), the first
//! entry into a program, the FS base programs keep their thread pointer
//! in, and copying between the kernel and user memory, which checks every
//! page in the live page tables first (present, user, writable for
//! writes), so a bad pointer is an error, never a kernel fault.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicUsize, Ordering};

/// The first address above user space (the lower canonical half).
pub const USER_TOP: u64 = 1 << 47;

/// A test program (at 0x400000): writes "hello from ring 3\n" (18 bytes)
/// and exits with getpid() + 40.
pub const TEST_HELLO: &[u8] = &[
    0xb8, 0x01, 0x00, 0x00, 0x00, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x1c, 0x00, 0x00,
    0x00, 0xba, 0x12, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x89,
    0xc7, 0x83, 0xc7, 0x28, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x0f, 0x0b, 0x68, 0x65, 0x6c,
    0x6c, 0x6f, 0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20, 0x72, 0x69, 0x6e, 0x67, 0x20, 0x33, 0x0a,
];

/// A test program that writes a byte to the kernel's image
/// (0xffffffff80100000).
pub const TEST_POKE_KERNEL: &[u8] =
    &[0x48, 0xb8, 0x00, 0x00, 0x10, 0x80, 0xff, 0xff, 0xff, 0xff, 0xc6, 0x00, 0x01, 0x0f, 0x0b];

core::arch::global_asm!(
    r#"
    .section .text
    .global axiom_syscall_entry
axiom_syscall_entry:
    swapgs
    mov gs:[8], rsp
    mov rsp, gs:[16]
    push qword ptr gs:[8]
    push r11
    push rcx
    push rax
    push rdi
    push rsi
    push rdx
    push r10
    push r8
    push r9
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    sti
    call axiom_syscall
    cli
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    pop r9
    pop r8
    pop r10
    pop rdx
    pop rsi
    pop rdi
    pop rax
    pop rcx
    pop r11
    pop rsp
    swapgs
    sysretq

// rdi: entry, rsi: user stack, rdx: first argument register (rdi). The
// iretq frame: SS 0x23 (user data, GDT entry 4, privilege 3), the stack,
// RFLAGS with IF, CS 0x2b (user code, entry 5, privilege 3), the entry.
    .global axiom_enter_user
axiom_enter_user:
    cli
    push 0x23
    push rsi
    push 0x202
    push 0x2b
    push rdi
    mov rdi, rdx
    xor eax, eax
    xor ebx, ebx
    xor ecx, ecx
    xor edx, edx
    xor esi, esi
    xor ebp, ebp
    xor r8d, r8d
    xor r9d, r9d
    xor r10d, r10d
    xor r11d, r11d
    xor r12d, r12d
    xor r13d, r13d
    xor r14d, r14d
    xor r15d, r15d
    swapgs
    iretq
    "#
);

unsafe extern "C" {
    fn axiom_syscall_entry();
    fn axiom_enter_user(entry: u64, stack: u64, arg: u64) -> !;
}

/// What a program had in its registers at `syscall` (the kernel may
/// change any of it; `rax` is the result).
#[repr(C)]
#[derive(Debug)]
pub struct SyscallFrame {
    /// Callee-saved registers, as the program left them.
    pub r15: u64,
    /// r14.
    pub r14: u64,
    /// r13.
    pub r13: u64,
    /// r12.
    pub r12: u64,
    /// rbp.
    pub rbp: u64,
    /// rbx.
    pub rbx: u64,
    /// Sixth argument.
    pub r9: u64,
    /// Fifth argument.
    pub r8: u64,
    /// Fourth argument.
    pub r10: u64,
    /// Third argument.
    pub rdx: u64,
    /// Second argument.
    pub rsi: u64,
    /// First argument.
    pub rdi: u64,
    /// The system call number; on return, the result.
    pub rax: u64,
    /// Where the program resumes.
    pub rip: u64,
    /// Its flags.
    pub rflags: u64,
    /// Its stack pointer.
    pub rsp: u64,
}

impl SyscallFrame {
    /// The system call's number (Linux's x86-64 table).
    pub fn number(&self) -> u64 {
        self.rax
    }

    /// Its six arguments.
    pub fn args(&self) -> [u64; 6] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9]
    }

    /// Sets what the program sees returned.
    pub fn set_result(&mut self, value: u64) {
        self.rax = value;
    }
}

static HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Registers the kernel's system call handler; it runs on the task's
/// kernel stack with interrupts on.
pub fn set_syscall_handler(handler: fn(&mut SyscallFrame)) {
    HANDLER.store(handler as usize, Ordering::Release);
}

#[unsafe(no_mangle)]
extern "C" fn axiom_syscall(frame: &mut SyscallFrame) {
    let h = HANDLER.load(Ordering::Acquire);
    if h == 0 {
        frame.rax = (-38i64) as u64; // ENOSYS
        return;
    }
    // SAFETY: only `set_syscall_handler` stores here, a `fn(&mut SyscallFrame)`.
    let handler: fn(&mut SyscallFrame) = unsafe { core::mem::transmute(h) };
    handler(frame);
    // `sysret` to a non-canonical address would fault in the kernel.
    if frame.rip >= USER_TOP {
        frame.rip = 0;
    }
}

/// Turns on `syscall` for this CPU: EFER.SCE, the selectors (STAR), the
/// entry (LSTAR), and the flags cleared on entry (FMASK: IF, DF, TF, AC).
pub fn init_cpu() {
    let wrmsr = |msr: u32, v: u64| {
        // SAFETY: these MSRs configure `syscall`/`sysret` only; the entry
        // and selectors they name are the kernel's own.
        unsafe {
            core::arch::asm!("wrmsr", in("ecx") msr, in("eax") v as u32,
                in("edx") (v >> 32) as u32, options(nostack, nomem))
        }
    };
    let efer: u64;
    // SAFETY: reads EFER.
    unsafe {
        let (lo, hi): (u32, u32);
        core::arch::asm!("rdmsr", in("ecx") 0xc000_0080u32, out("eax") lo, out("edx") hi,
            options(nostack, nomem));
        efer = (hi as u64) << 32 | lo as u64;
    }
    wrmsr(0xc000_0080, efer | 1);
    wrmsr(0xc000_0081, (0x18u64 << 48) | (0x08u64 << 32));
    wrmsr(0xc000_0082, axiom_syscall_entry as unsafe extern "C" fn() as usize as u64);
    wrmsr(0xc000_0084, 0x4_7700);
    // The user's GS base while the kernel runs: none yet.
    wrmsr(0xc000_0102, 0);
}

/// Leaves the kernel for a program: `rip = entry`, `rsp = stack`, `rdi =
/// arg`, other registers zero, interrupts on. System calls and interrupts
/// come back on the running task's kernel stack.
pub fn enter(entry: u64, stack: u64, arg: u64) -> ! {
    assert!(entry < USER_TOP && stack < USER_TOP, "entering user mode at a kernel address");
    // SAFETY: both addresses are in the user half (checked); the iretq
    // frame selects the user segments, so the program runs at privilege 3
    // and can reach only its user pages. The current kernel stack is
    // abandoned: it is where system calls will enter.
    unsafe { axiom_enter_user(entry, stack, arg) }
}

/// This CPU's FS base (the thread pointer of the program running).
pub fn thread_pointer() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: reads IA32_FS_BASE.
    unsafe {
        core::arch::asm!("rdmsr", in("ecx") 0xc000_0100u32, out("eax") lo, out("edx") hi,
            options(nostack, nomem))
    };
    (hi as u64) << 32 | lo as u64
}

/// Sets this CPU's FS base (the thread pointer); `false` (and nothing
/// changed) for a kernel address.
pub fn set_thread_pointer(base: u64) -> bool {
    if base >= USER_TOP {
        return false;
    }
    // SAFETY: IA32_FS_BASE only changes what `fs:` addresses; the kernel
    // does not use FS.
    unsafe {
        core::arch::asm!("wrmsr", in("ecx") 0xc000_0100u32, in("eax") base as u32,
            in("edx") (base >> 32) as u32, options(nostack, nomem))
    };
    true
}

pub use crate::uaccess::{copy_from_user, copy_to_user};
