//! A BPF program as the scheduling policy: each [`Policy`] callback runs
//! the program attached to the scheduler hook with a `struct
//! axiom_sched_ctx` naming the operation (`axiom_abi::hooks::sched_op`),
//! as Linux's `sched_ext` calls its BPF scheduler's operations. The
//! program keeps its queues in maps and picks the next task and its
//! slice.
//!
//! The kernel keeps it honest: a dispatched task must be one enqueued to
//! the policy and not dispatched since, and no task may wait longer than
//! [`STARVATION_NS`]; otherwise the scheduler ejects the policy (the
//! fallback takes every runnable task) and says why.
//!
//! The scheduler hook ([`SCHED`]) is here: when its program changes the
//! policy changes with it ([`sched_changed`]), and an ejected policy takes
//! its program out of the hook, to be dropped with the policy.

use crate::sched::{MAX_TASKS, Policy, TaskId};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::hooks::{SchedCtx, prog_type, sched_op};
use axiom_bpf::hook::HookSlot;
use axiom_bpf::object::ProgObject;
use axiom_hal as hal;

/// The scheduler hook: its program becomes the scheduling policy.
pub static SCHED: HookSlot = HookSlot::with_notify("sched", prog_type::AXIOM_SCHED, sched_changed);

/// The scheduler hook's program changed: it becomes the policy (every
/// runnable task moves to it), or the fallback takes over. Also what puts
/// the hook's policy back after another was installed directly.
pub fn sched_changed() {
    match SCHED.program() {
        Some(prog) => crate::sched::set_policy(alloc::boxed::Box::new(BpfPolicy::new(prog))),
        None => crate::sched::set_policy(alloc::boxed::Box::new(crate::sched::Fallback::default())),
    }
}

/// The longest a runnable task may wait under a BPF policy before the
/// watchdog ejects it (Linux's `sched_ext` watchdog allows 30 s; under
/// emulation here half a second is already an eternity).
pub const STARVATION_NS: u64 = 500_000_000;

/// A BPF scheduling policy.
pub struct BpfPolicy {
    prog: Arc<ProgObject>,
    name: String,
    /// When each task enqueued to the policy was enqueued (ns), until it
    /// is dispatched.
    waiting: Vec<Option<u64>>,
    /// The last dispatched task, if it was not waiting in the policy.
    stray: Option<TaskId>,
    /// The operations the program handles (`1 << op`; `INIT`'s answer).
    ops: u32,
    /// The program as the hook held it, taken out when the policy was
    /// ejected: dropped with the policy, outside the scheduler's lock.
    ejected: Option<Arc<ProgObject>>,
}

impl BpfPolicy {
    /// The policy `prog` (a verified scheduler program) makes.
    pub fn new(prog: Arc<ProgObject>) -> BpfPolicy {
        let name: String = String::from_utf8_lossy(&prog.name).trim_end_matches('\0').into();
        let name = alloc::format!("bpf `{name}` (program {})", prog.id);
        let mut policy = BpfPolicy {
            prog,
            name,
            waiting: vec![None; MAX_TASKS],
            stray: None,
            ops: u32::MAX,
            ejected: None,
        };
        // Which operations it handles (0: all); enqueue and dispatch are
        // called whatever it says.
        let wanted = policy.call(sched_op::INIT, 0, 0, 0, false).0 as u32;
        policy.ops = if wanted == 0 { u32::MAX } else { wanted };
        policy.ops |= 1 << sched_op::ENQUEUE | 1 << sched_op::DISPATCH;
        policy
    }

    fn wants(&self, op: u32) -> bool {
        self.ops & (1 << op) != 0
    }

    /// Runs the program for `op`; its result and the context after.
    fn call(
        &self,
        op: u32,
        cpu: usize,
        task: TaskId,
        prev_cpu: usize,
        runnable: bool,
    ) -> (u64, SchedCtx) {
        let now = || crate::time::cycles_to_ns(hal::cycles());
        let event = now();
        let mut ctx = SchedCtx {
            op,
            cpu: cpu as u32,
            task: task as u32,
            prev_cpu: prev_cpu as u32,
            online: hal::cpu_count() as u32,
            runnable: u32::from(runnable),
            priority: crate::sched::priority(task),
            reserved: 0,
            now_ns: event,
            slice_ns: 0,
        };
        let run = axiom_bpf::platform::ProgramRun::begin();
        let start_ns = now();
        let r0 = self.prog.code.run(&mut ctx as *mut SchedCtx as u64);
        let end_ns = now();
        drop(run);
        SCHED.record(start_ns - event, end_ns - start_ns);
        let d = axiom_bpf::hook::Dispatch { r0, start_ns, end_ns };
        crate::hook_trace::trace(axiom_abi::hooks::hook_index::SCHED, op, event, &d);
        (r0, ctx)
    }
}

impl Policy for BpfPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn select_cpu(&mut self, task: TaskId, prev_cpu: usize, _online: usize) -> usize {
        if !self.wants(sched_op::SELECT_CPU) {
            return prev_cpu;
        }
        self.call(sched_op::SELECT_CPU, prev_cpu, task, prev_cpu, true).0 as usize
    }

    fn enqueue(&mut self, task: TaskId, cpu: usize) {
        self.waiting[task] = Some(crate::time::cycles_to_ns(hal::cycles()));
        self.call(sched_op::ENQUEUE, cpu, task, cpu, true);
    }

    fn dispatch(&mut self, cpu: usize) -> Option<(TaskId, u64)> {
        let (r0, ctx) = self.call(sched_op::DISPATCH, cpu, 0, cpu, false);
        let task = r0 as u32 as usize;
        if task == 0 {
            return None;
        }
        // A task the policy was not holding: the scheduler asks `holds`
        // next and ejects the policy.
        match self.waiting.get_mut(task) {
            Some(w @ Some(_)) => *w = None,
            _ => self.stray = Some(task),
        }
        let slice = if ctx.slice_ns == 0 { crate::sched::FALLBACK_SLICE_NS } else { ctx.slice_ns };
        Some((task, slice))
    }

    fn holds(&self, task: TaskId) -> bool {
        self.stray != Some(task)
    }

    fn running(&mut self, task: TaskId, cpu: usize) {
        if self.wants(sched_op::RUNNING) {
            self.call(sched_op::RUNNING, cpu, task, cpu, true);
        }
    }

    fn stopping(&mut self, task: TaskId, cpu: usize, runnable: bool) {
        if self.wants(sched_op::STOPPING) {
            self.call(sched_op::STOPPING, cpu, task, cpu, runnable);
        }
    }

    fn tick(&mut self, task: TaskId, cpu: usize) -> bool {
        self.wants(sched_op::TICK) && self.call(sched_op::TICK, cpu, task, cpu, true).0 != 0
    }

    /// The program leaves the hook if it is still there (never waiting:
    /// see [`HookSlot::eject`]); the scheduler drops the policy, and the
    /// program with it, later outside its lock.
    fn ejected(&mut self) {
        self.ejected = SCHED.eject(self.prog.id);
    }

    fn watchdog(&mut self) -> Option<String> {
        let now = crate::time::cycles_to_ns(hal::cycles());
        let (task, since) = self
            .waiting
            .iter()
            .enumerate()
            .filter_map(|(t, w)| w.map(|since| (t, since)))
            .min_by_key(|&(_, since)| since)?;
        let waited = now.saturating_sub(since);
        (waited > STARVATION_NS).then(|| {
            alloc::format!(
                "policy `{}` left task {task} runnable for {} ms without running it",
                self.name,
                waited / 1_000_000
            )
        })
    }
}
