//! Threads' saved contexts and the switch between them. A switch saves
//! the callee-saved registers (x19 to x30) on the old stack, records the
//! stack pointer, and resumes the new context where it last switched out
//! (or at its entry, for a new one). Each context carries a `running`
//! flag, so a context is never resumed on two CPUs, nor before the CPU
//! leaving it has finished saving it. The kernel is built without FP and
//! SIMD code: only user programs' contexts keep those registers (and
//! their thread pointer, TPIDR_EL0).
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

core::arch::global_asm!(
    r#"
    .section .text
    .global axiom_switch
// x0: the context being left, x1: the one resumed (stack pointer at +0,
// running flag at +8).
axiom_switch:
    sub sp, sp, #96
    stp x19, x20, [sp]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    mov x2, sp
    str x2, [x0]
    // Saved: another CPU may resume it from now on. Nothing below
    // touches this stack (interrupts are off).
    add x3, x0, #8
    stlrb wzr, [x3]
    add x4, x1, #8
    mov w5, #1
1:  ldaxrb w6, [x4]
    cbnz w6, 2f
    stxrb w7, w5, [x4]
    cbnz w7, 1b
    b 3f
2:  yield
    b 1b
3:  ldr x2, [x1]
    mov sp, x2
    ldp x19, x20, [sp]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #96
    ret

// A new context's first return lands here: x19 holds the argument, x20
// the entry; interrupts go on, as the thread's entry expects.
axiom_thread_start:
    mov x0, x19
    msr daifclr, #2
    blr x20
    brk #1

    .global axiom_fp_save
// x0: 528 bytes, 16-aligned: q0 to q31, FPCR, FPSR.
axiom_fp_save:
    .arch_extension fp
    .arch_extension simd
    stp q0, q1, [x0, #0]
    stp q2, q3, [x0, #32]
    stp q4, q5, [x0, #64]
    stp q6, q7, [x0, #96]
    stp q8, q9, [x0, #128]
    stp q10, q11, [x0, #160]
    stp q12, q13, [x0, #192]
    stp q14, q15, [x0, #224]
    stp q16, q17, [x0, #256]
    stp q18, q19, [x0, #288]
    stp q20, q21, [x0, #320]
    stp q22, q23, [x0, #352]
    stp q24, q25, [x0, #384]
    stp q26, q27, [x0, #416]
    stp q28, q29, [x0, #448]
    stp q30, q31, [x0, #480]
    mrs x1, fpcr
    mrs x2, fpsr
    add x3, x0, #512
    stp x1, x2, [x3]
    ret

    .global axiom_fp_restore
axiom_fp_restore:
    ldp q0, q1, [x0, #0]
    ldp q2, q3, [x0, #32]
    ldp q4, q5, [x0, #64]
    ldp q6, q7, [x0, #96]
    ldp q8, q9, [x0, #128]
    ldp q10, q11, [x0, #160]
    ldp q12, q13, [x0, #192]
    ldp q14, q15, [x0, #224]
    ldp q16, q17, [x0, #256]
    ldp q18, q19, [x0, #288]
    ldp q20, q21, [x0, #320]
    ldp q22, q23, [x0, #352]
    ldp q24, q25, [x0, #384]
    ldp q26, q27, [x0, #416]
    ldp q28, q29, [x0, #448]
    ldp q30, q31, [x0, #480]
    add x3, x0, #512
    ldp x1, x2, [x3]
    msr fpcr, x1
    msr fpsr, x2
    ret
    "#
);

unsafe extern "C" {
    fn axiom_switch(from: *const u64, to: *const u64);
    fn axiom_fp_save(area: *mut FpArea);
    fn axiom_fp_restore(area: *const FpArea);
    static axiom_thread_start: u8;
}

/// q0 to q31, FPCR and FPSR.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct FpArea([u8; 528]);

/// A thread's saved state: its stack pointer, whether a CPU is running
/// it, and the stack it owns (none for a CPU's boot context). Contexts
/// live in static slots and are reused: [`Context::prepare`] gives one a
/// stack and an entry, [`Context::release`] frees the stack.
#[repr(C)]
pub struct Context {
    sp: AtomicU64,
    running: AtomicBool,
    /// The top of its stack, where it enters the kernel from EL0.
    stack_top: AtomicU64,
    /// Its thread pointer (TPIDR_EL0).
    tpidr: AtomicU64,
    /// Its page tables' root (0: the kernel's).
    root: AtomicU64,
    /// Its FP and SIMD registers, for user programs.
    fpu: UnsafeCell<FpArea>,
    stack: spin::Mutex<Option<Box<[u8]>>>,
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
            sp: AtomicU64::new(0),
            running: AtomicBool::new(false),
            stack_top: AtomicU64::new(0),
            tpidr: AtomicU64::new(0),
            root: AtomicU64::new(0),
            fpu: UnsafeCell::new(FpArea([0; 528])),
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
        // The frame `axiom_switch` pops: x19 (arg), x20 (entry), x21 to
        // x29, then x30 (the return address).
        let start = &raw const axiom_thread_start as u64;
        let mut frame = [0u64; 12];
        frame[0] = arg as u64;
        frame[1] = entry as usize as u64;
        frame[11] = start;
        let sp = top - 8 * frame.len() as u64;
        for (i, word) in frame.iter().enumerate() {
            let at = (sp - base) as usize + 8 * i;
            stack[at..at + 8].copy_from_slice(&word.to_le_bytes());
        }
        *self.stack.lock() = Some(stack);
        self.stack_top.store(top, Ordering::Relaxed);
        self.tpidr.store(0, Ordering::Relaxed);
        self.root.store(0, Ordering::Relaxed);
        // SAFETY: the context is not running (asserted above), so no CPU
        // touches its FP area.
        unsafe { *self.fpu.get() = FpArea([0; 528]) };
        self.sp.store(sp, Ordering::Release);
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
    /// it is the context running here, switches to them now. A context
    /// with a root of its own runs a user program: only such contexts
    /// have their FP registers and thread pointer kept, so one that
    /// becomes one here takes its own now.
    pub fn set_root(&self, root: u64, running_here: bool) {
        let was_user = self.root.swap(root, Ordering::AcqRel) != 0;
        if running_here {
            super::paging::switch_root(root);
            if root != 0 && !was_user {
                let on = super::disable_interrupts();
                super::user::set_thread_pointer(self.tpidr.load(Ordering::Relaxed));
                // SAFETY: this context runs here (the caller says so), so
                // this CPU alone touches its FP area (16-aligned, 528 bytes).
                unsafe { axiom_fp_restore(self.fpu.get()) };
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
    assert!(to.is_running() || to.sp.load(Ordering::Acquire) != 0, "switch to an empty context");
    let (from_user, to_user) =
        (from.root.load(Ordering::Acquire) != 0, to.root.load(Ordering::Acquire) != 0);
    if from_user {
        from.tpidr.store(super::user::thread_pointer(), Ordering::Relaxed);
        // SAFETY: `from` runs here (see `Context`'s Sync): this CPU alone
        // touches its FP area.
        unsafe { axiom_fp_save(from.fpu.get()) };
    }
    if to_user {
        // Another CPU may still be leaving `to`: its state is whole once
        // that CPU clears the running flag.
        while to.is_running() {
            core::hint::spin_loop();
        }
        super::user::set_thread_pointer(to.tpidr.load(Ordering::Relaxed));
        // SAFETY: `to` is about to run here and no other CPU runs it: this
        // CPU alone touches its FP area.
        unsafe { axiom_fp_restore(to.fpu.get()) };
    }
    super::user::set_kernel_stack(to.stack_top.load(Ordering::Relaxed));
    super::paging::switch_root(to.root.load(Ordering::Acquire));
    // SAFETY: `from` is the context running here (checked above), so its
    // registers and stack pointer are the ones saved; `to` holds either the
    // frame `prepare` built on the stack it owns or what an earlier switch
    // saved, and its `running` flag makes this CPU wait until any other
    // CPU has finished leaving it. Both are `'static`, and a stack is
    // freed only by `release`, which refuses while its context runs.
    unsafe { axiom_switch(&from.sp as *const AtomicU64 as _, &to.sp as *const AtomicU64 as _) };
    if on {
        super::enable_interrupts();
    }
}
