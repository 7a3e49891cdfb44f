//! Threads' saved contexts and the switch between them. A switch saves
//! the callee-saved registers on the old stack, records the stack
//! pointer, and resumes the new context where it last switched out (or at
//! its entry, for a new one). Each context carries a `running` flag, so a
//! context is never resumed on two CPUs, nor before the CPU leaving it has
//! finished saving it.
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

core::arch::global_asm!(
    r#"
    .section .text
    .global axiom_switch
// rdi: the context being left, rsi: the one resumed.
axiom_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    // Saved: another CPU may resume it from now on. Nothing below
    // touches this stack (interrupts are off).
    mov byte ptr [rdi + 8], 0
2:
    mov al, 1
    xchg al, [rsi + 8]
    test al, al
    jz 3f
    pause
    jmp 2b
3:
    mov rsp, [rsi]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

// A new context's first return lands here: r12 holds the argument, r13
// the entry; interrupts go on, as the thread's entry expects.
axiom_thread_start:
    mov rdi, r12
    sti
    call r13
    ud2
    "#
);

unsafe extern "C" {
    /// `from` and `to` point at contexts: the stack pointer at offset 0,
    /// the running flag at offset 8.
    fn axiom_switch(from: *const u64, to: *const u64);
    static axiom_thread_start: u8;
}

/// A thread's saved state: its stack pointer, whether a CPU is running
/// it, and the stack it owns (none for a CPU's boot context). Contexts
/// live in static slots and are reused: [`Context::prepare`] gives one a
/// stack and an entry, [`Context::release`] frees the stack.
#[repr(C)]
pub struct Context {
    rsp: AtomicU64,
    running: AtomicBool,
    /// The top of its stack, where it enters the kernel from user mode.
    stack_top: AtomicU64,
    /// Its FS base (a program's thread pointer).
    fs_base: AtomicU64,
    /// Its page tables' root (0: the kernel's).
    root: AtomicU64,
    /// Its x87/SSE registers (`fxsave` format), for user programs.
    fpu: UnsafeCell<FxArea>,
    stack: spin::Mutex<Option<Box<[u8]>>>,
}

/// The 512-byte `fxsave` area.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct FxArea([u8; 512]);

impl FxArea {
    /// The state after `fninit` with SSE exceptions masked: FCW 0x37f,
    /// MXCSR 0x1f80.
    const INITIAL: FxArea = {
        let mut a = [0u8; 512];
        a[0] = 0x7f;
        a[1] = 0x03;
        a[24] = 0x80;
        a[25] = 0x1f;
        FxArea(a)
    };
}

// SAFETY: a context's `fpu` area is read and written only by the CPU
// switching into or out of it, with interrupts off, and its `running` flag
// keeps any other CPU from doing so at the same time; every other field is
// atomic or locked.
unsafe impl Sync for Context {}

/// A thread entry: called with its argument, never returns.
pub type Entry = extern "C" fn(usize) -> !;

impl Context {
    /// An unused context.
    pub const fn empty() -> Context {
        Context {
            rsp: AtomicU64::new(0),
            running: AtomicBool::new(false),
            stack_top: AtomicU64::new(0),
            fs_base: AtomicU64::new(0),
            root: AtomicU64::new(0),
            fpu: UnsafeCell::new(FxArea::INITIAL),
            stack: spin::Mutex::new(None),
        }
    }

    /// Makes this the context of the code running now on this CPU (its
    /// boot stack): it is saved when this CPU first switches away.
    pub fn adopt_current(&self) {
        assert!(self.stack.lock().is_none(), "adopting a context that owns a stack");
        self.running.store(true, Ordering::Release);
    }

    /// Gives this unused context a `stack_size`-byte stack on which it
    /// starts at `entry(arg)` with interrupts on.
    pub fn prepare(&self, stack_size: usize, entry: Entry, arg: usize) {
        assert!(!self.is_running(), "preparing a running context");
        let mut stack = vec![0u8; stack_size.max(4096)].into_boxed_slice();
        let base = stack.as_ptr() as u64;
        let top = (base + stack.len() as u64) & !15;
        // The frame `axiom_switch` pops: r15, r14, r13 (entry), r12 (arg),
        // rbx, rbp, then the return address; after the `ret`, rsp is `top`
        // (16-byte aligned for the entry call).
        let start = &raw const axiom_thread_start as u64;
        let frame = [0, 0, entry as usize as u64, arg as u64, 0, 0, start];
        let rsp = top - 8 * frame.len() as u64;
        for (i, word) in frame.iter().enumerate() {
            let at = (rsp - base) as usize + 8 * i;
            stack[at..at + 8].copy_from_slice(&word.to_le_bytes());
        }
        *self.stack.lock() = Some(stack);
        self.stack_top.store(top, Ordering::Relaxed);
        self.fs_base.store(0, Ordering::Relaxed);
        self.root.store(0, Ordering::Relaxed);
        // SAFETY: the context is not running (asserted above), so no CPU
        // touches its FPU area.
        unsafe { *self.fpu.get() = FxArea::INITIAL };
        self.rsp.store(rsp, Ordering::Release);
    }

    /// Frees the stack of a context that no CPU runs any more; `false`
    /// (and nothing freed) while one still does.
    pub fn release(&self) -> bool {
        if self.is_running() {
            return false;
        }
        self.stack.lock().take();
        true
    }

    /// Makes `root` this context's page tables (0: the kernel's), and, if
    /// it is the context running here, switches to them now.
    /// A context with a root of its own runs a user program: only such
    /// contexts have their x87/SSE state and FS base kept (the kernel uses
    /// neither), so one that becomes one here takes its own now.
    pub fn set_root(&self, root: u64, running_here: bool) {
        let was_user = self.root.swap(root, Ordering::AcqRel) != 0;
        if running_here {
            super::paging::switch_root(root);
            if root != 0 && !was_user {
                let on = super::disable_interrupts();
                super::user::set_thread_pointer(self.fs_base.load(Ordering::Relaxed));
                // SAFETY: this context runs here (the caller says so), so
                // this CPU alone touches its FPU area (aligned, 512 bytes).
                unsafe {
                    core::arch::asm!("fxrstor64 [{}]", in(reg) self.fpu.get(), options(nostack))
                };
                if on {
                    super::enable_interrupts();
                }
            }
        }
    }

    /// Whether a CPU is running this context now.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The context's stack size (0 for a boot context).
    pub fn stack_size(&self) -> usize {
        self.stack.lock().as_ref().map_or(0, |s| s.len())
    }
}

/// Switches from `from` (the context running on this CPU) to `to`, with
/// interrupts off; returns when something switches back to `from`.
pub fn switch(from: &'static Context, to: &'static Context) {
    assert!(!core::ptr::eq(from, to), "switch to the running context");
    assert!(from.is_running(), "switch from a context that is not running");
    let on = super::disable_interrupts();
    assert!(to.is_running() || to.rsp.load(Ordering::Acquire) != 0, "switch to an empty context");
    // What the next context needs from this CPU: its kernel stack for
    // entries from user mode, its page tables, and, for a user program's
    // context only (the kernel uses neither), its thread pointer and
    // x87/SSE state. A kernel context leaves the last program's in place.
    let (from_user, to_user) =
        (from.root.load(Ordering::Acquire) != 0, to.root.load(Ordering::Acquire) != 0);
    if from_user {
        from.fs_base.store(super::user::thread_pointer(), Ordering::Relaxed);
        // SAFETY: `from` runs here (see `Context`'s Sync): this CPU alone
        // touches its FPU area, 16-byte aligned, 512 bytes.
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) from.fpu.get(), options(nostack)) };
    }
    if to_user {
        // Another CPU may still be leaving `to`: its state is whole once
        // that CPU clears the running flag.
        while to.is_running() {
            core::hint::spin_loop();
        }
        super::user::set_thread_pointer(to.fs_base.load(Ordering::Relaxed));
        // SAFETY: `to` is about to run here and no other CPU runs it (its
        // running flag): this CPU alone touches its FPU area.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) to.fpu.get(), options(nostack)) };
    }
    super::cpu::set_kernel_stack(to.stack_top.load(Ordering::Relaxed));
    super::paging::switch_root(to.root.load(Ordering::Acquire));
    // SAFETY: `from` is the context running here (checked above), so its
    // registers and stack pointer are the ones saved; `to` holds either the
    // frame `prepare` built on the stack it owns or what an earlier switch
    // saved, and its `running` flag makes this CPU wait until any other
    // CPU has finished leaving it. Both are `'static`, and a stack is
    // freed only by `release`, which refuses while its context runs.
    unsafe { axiom_switch(&from.rsp as *const AtomicU64 as _, &to.rsp as *const AtomicU64 as _) };
    if on {
        super::enable_interrupts();
    }
}
