//! The kernel's BPF hooks (see `axiom_bpf::hook`): where each event runs
//! its program. The timer tick, and the scheduler (whose program the
//! scheduler runs itself, as a policy: `bpf_sched`); the interrupt-line
//! and IIO hooks follow.

use alloc::sync::Arc;
use alloc::vec::Vec;
use axiom_abi::hooks::{TickCtx, attach_type, prog_type};
use axiom_abi::uapi::errno::Errno;
use axiom_bpf::command::ProgObject;
use axiom_bpf::hook::HookSlot;
use axiom_hal as hal;

/// The timer-tick hook: every tick of every CPU.
pub static TICK: HookSlot = HookSlot::new("tick", prog_type::AXIOM_TICK);

/// The scheduler hook: its program becomes the scheduling policy.
pub static SCHED: HookSlot = HookSlot::with_notify("sched", prog_type::AXIOM_SCHED, sched_changed);

/// Programs the scheduler ejected, dropped later outside its lock.
static EJECTED: spin::Mutex<Vec<Arc<ProgObject>>> = spin::Mutex::new(Vec::new());

/// The hook `BPF_LINK_CREATE`/`BPF_PROG_ATTACH` name with `attach_type`
/// and `target`.
pub fn slot(attach: u32, target: u32) -> Result<&'static HookSlot, Errno> {
    match (attach, target) {
        (attach_type::AXIOM_TICK, 0) => Ok(&TICK),
        (attach_type::AXIOM_SCHED, 0) => Ok(&SCHED),
        _ => Err(Errno::EINVAL),
    }
}

/// The scheduler hook's program changed: it becomes the policy (every
/// runnable task moves to it), or the fallback takes over. Also what puts
/// the hook's policy back after another was installed directly.
pub fn sched_changed() {
    match SCHED.program() {
        Some(prog) => {
            crate::sched::set_policy(alloc::boxed::Box::new(crate::bpf_sched::BpfPolicy::new(prog)))
        }
        None => crate::sched::set_policy(alloc::boxed::Box::new(crate::sched::Fallback::default())),
    }
    drop_ejected();
}

/// The scheduler ejected the BPF policy of program `id` (its lock held,
/// interrupts off): the program leaves the hook if it is still there; it
/// is dropped later.
pub fn sched_ejected(id: u32) {
    let on = hal::disable_interrupts();
    if SCHED.attached().is_some_and(|(attached, _)| attached == id)
        && let Some(prog) = SCHED.eject()
    {
        EJECTED.lock().push(prog);
    }
    if on {
        hal::enable_interrupts();
    }
}

/// Drops ejected programs (task context, interrupts on).
pub fn drop_ejected() {
    let on = hal::disable_interrupts();
    let ejected = core::mem::take(&mut *EJECTED.lock());
    if on {
        hal::enable_interrupts();
    }
    drop(ejected);
}

/// Runs the tick program (if one is attached) for a tick that entered
/// the handler at cycle `entry`.
pub fn tick(entry: u64, tick: u64) {
    let ns = crate::time::cycles_to_ns;
    let ctx = TickCtx {
        entry_ns: ns(entry),
        dispatch_ns: ns(hal::cycles()),
        tick,
        cpu: hal::cpu_index() as u32,
        reserved: 0,
    };
    TICK.dispatch(&ctx as *const TickCtx as u64, ctx.entry_ns, || ns(hal::cycles()));
}
