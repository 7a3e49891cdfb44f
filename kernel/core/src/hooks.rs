//! The kernel's BPF hooks (see `axiom_bpf::hook`): where each event runs
//! its program. The timer tick here; the scheduler's (whose program the
//! scheduler runs itself, as a policy) in `bpf_sched`; the interrupt
//! lines' (`irq`) and the IIO devices' (`iio`) filters in theirs. This
//! module knows them all: it finds a hook for the `bpf()` commands and
//! publishes their statistics.
//!
//! Every dispatch is measured (event to program start, program run time)
//! into per-hook log2 histograms, which the kernel publishes every 10 ms
//! in a pinned array map (`axiom_abi::hooks::paths::STATS`); while
//! tracing is on, each dispatch also goes into a pinned ring buffer
//! (`hook_trace`).

use crate::bpf_sched::SCHED;
use alloc::sync::Arc;
use axiom_abi::hooks::{
    HookStats, TickCtx, attach_type, hook_index, irq_verdict, paths, prog_type,
};
use axiom_abi::uapi::errno::Errno;
use axiom_bpf::hook::HookSlot;
use axiom_bpf::maps::MapSpec;
use axiom_bpf::object::MapObject;
use axiom_bpf::registry::Registry;
use axiom_hal as hal;

/// The timer-tick hook: every tick of every CPU.
pub static TICK: HookSlot = HookSlot::new("tick", prog_type::AXIOM_TICK);

/// The hook `BPF_LINK_CREATE`/`BPF_PROG_ATTACH` name with `attach_type`
/// and `target`.
pub fn slot(attach: u32, target: u32) -> Result<&'static HookSlot, Errno> {
    match (attach, target) {
        (attach_type::AXIOM_TICK, 0) => Ok(&TICK),
        (attach_type::AXIOM_SCHED, 0) => Ok(&SCHED),
        (attach_type::AXIOM_IRQ, line) if crate::irq::has_driver(line) => {
            Ok(&crate::irq::SLOTS[line as usize])
        }
        (attach_type::AXIOM_IIO, device) if (device as usize) < crate::iio::DEVICES => {
            Ok(&crate::iio::SLOTS[device as usize])
        }
        _ => Err(Errno::EINVAL),
    }
}

/// The kernel's maps for its hooks' statistics (the events and trace
/// maps are `hook_trace`'s).
struct Published {
    stats: Arc<MapObject>,
    irq: Arc<MapObject>,
}

static PUBLISHED: spin::Once<Published> = spin::Once::new();

/// Makes and pins the statistics, events and trace maps in `registry`
/// (at boot).
pub fn init(registry: &Registry) {
    let spec = |map_type, key_size, value_size, max_entries| MapSpec {
        map_type,
        key_size,
        value_size,
        max_entries,
        flags: 0,
    };
    use axiom_abi::uapi::types::map_type as mt;
    let made = (|| {
        let stats =
            registry.kernel_map("hook_stats", spec(mt::ARRAY, 4, 656, 8), 1, paths::STATS).ok()?;
        let events = registry
            .kernel_map("hook_events", spec(mt::RINGBUF, 0, 0, 256 * 1024), 1, paths::EVENTS)
            .ok()?;
        let trace =
            registry.kernel_map("hook_trace", spec(mt::ARRAY, 4, 4, 1), 1, paths::TRACE).ok()?;
        Some((
            Published {
                stats,
                irq: registry
                    .kernel_map(
                        "irq_verdicts",
                        spec(
                            mt::ARRAY,
                            4,
                            8 * irq_verdict::COUNTED as u32,
                            crate::irq::LINES as u32,
                        ),
                        1,
                        paths::IRQ_VERDICTS,
                    )
                    .ok()?,
            },
            events,
            trace,
        ))
    })();
    match made {
        Some((p, events, trace)) => {
            PUBLISHED.call_once(|| p);
            crate::hook_trace::install(events, trace);
        }
        None => println!("axiom: the hooks' statistics maps could not be made"),
    }
}

/// Copies each hook's statistics into the statistics map and reads the
/// trace switch (CPU 0, every 10 ticks).
fn publish() {
    let Some(p) = PUBLISHED.get() else { return };
    let hooks = [(hook_index::SCHED, &SCHED), (hook_index::TICK, &TICK)];
    for (index, slot) in hooks.into_iter().chain([(hook_index::IIO, &crate::iio::SLOTS[0])]) {
        let bytes = slot.stats().to_bytes();
        let _ = p.stats.map.lock().update(&index.to_le_bytes(), &bytes, 0);
    }
    // The interrupt lines' filters, summed into the IRQ hook's entry,
    // and each line's verdicts.
    let mut irq = HookStats { runs: 0, skipped: 0, latency: [0; 40], run_time: [0; 40] };
    for (line, slot) in crate::irq::SLOTS.iter().enumerate() {
        let s = slot.stats();
        irq.runs += s.runs;
        irq.skipped += s.skipped;
        for i in 0..s.latency.len() {
            irq.latency[i] += s.latency[i];
            irq.run_time[i] += s.run_time[i];
        }
        let (verdicts, _) = crate::irq::counts(line);
        let mut bytes = [0u8; 8 * irq_verdict::COUNTED];
        for (i, v) in verdicts.iter().enumerate() {
            bytes[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
        }
        let _ = p.irq.map.lock().update(&(line as u32).to_le_bytes(), &bytes, 0);
    }
    let _ = p.stats.map.lock().update(&hook_index::IRQ.to_le_bytes(), &irq.to_bytes(), 0);
    crate::hook_trace::refresh();
}

/// Runs the tick program (if one is attached) for a tick that entered
/// the handler at cycle `entry`; on CPU 0, publishes the statistics
/// every 10 ticks and wakes readers of new events.
pub fn tick(entry: u64, tick: u64) {
    let ns = crate::time::cycles_to_ns;
    let ctx = TickCtx {
        entry_ns: ns(entry),
        dispatch_ns: ns(hal::cycles()),
        tick,
        cpu: hal::cpu_index() as u32,
        reserved: 0,
        deadline_ns: ns(hal::tick_due()),
    };
    // The event a tick program answers is the timer's deadline.
    let event = ctx.deadline_ns.min(ctx.entry_ns);
    if let Some(d) = TICK.dispatch(&ctx as *const TickCtx as u64, event, || ns(hal::cycles())) {
        crate::hook_trace::trace(hook_index::TICK, 0, event, &d);
    }
    if hal::cpu_index() == 0 {
        crate::irq::tick(tick);
        crate::iio::tick(tick);
        if tick.is_multiple_of(10) {
            publish();
        }
        if crate::hook_trace::take_unread() {
            crate::poll::wake_soon();
        }
        crate::poll::wake_pending();
    }
}
