//! The kernel's BPF hooks (see `axiom_bpf::hook`): where each event runs
//! its program. Today the timer tick; the scheduler, interrupt-line and
//! IIO hooks follow.

use axiom_abi::hooks::{TickCtx, attach_type, prog_type};
use axiom_abi::uapi::errno::Errno;
use axiom_bpf::hook::HookSlot;
use axiom_hal as hal;

/// The timer-tick hook: every tick of every CPU.
pub static TICK: HookSlot = HookSlot::new("tick", prog_type::AXIOM_TICK);

/// The hook `BPF_LINK_CREATE`/`BPF_PROG_ATTACH` name with `attach_type`
/// and `target`.
pub fn slot(attach: u32, target: u32) -> Result<&'static HookSlot, Errno> {
    match (attach, target) {
        (attach_type::AXIOM_TICK, 0) => Ok(&TICK),
        _ => Err(Errno::EINVAL),
    }
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
