//! The kernel's BPF hooks (see `axiom_bpf::hook`): where each event runs
//! its program. The timer tick, and the scheduler (whose program the
//! scheduler runs itself, as a policy: `bpf_sched`); the interrupt
//! lines' (`irq`) and the IIO devices' (`iio`) filters.
//!
//! Every dispatch is measured (event to program start, program run time)
//! into per-hook log2 histograms, which the kernel publishes every 10 ms
//! in a pinned array map (`axiom_abi::hooks::paths::STATS`); while
//! tracing is on (a pinned one-`u32` map, `paths::TRACE`), each dispatch
//! also goes as a `HookEvent` into a pinned ring buffer
//! (`paths::EVENTS`), which `axbpf trace` reads.

use alloc::sync::Arc;
use alloc::vec::Vec;
use axiom_abi::hooks::{
    HookEvent, HookStats, TickCtx, attach_type, hook_index, irq_verdict, paths, prog_type,
};
use axiom_abi::uapi::errno::Errno;
use axiom_bpf::hook::{Dispatch, HookSlot};
use axiom_bpf::maps::MapSpec;
use axiom_bpf::object::{MapObject, ProgObject};
use axiom_hal as hal;
use core::sync::atomic::{AtomicBool, Ordering};

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
        (attach_type::AXIOM_IRQ, line) if crate::irq::has_driver(line) => {
            Ok(&crate::irq::SLOTS[line as usize])
        }
        (attach_type::AXIOM_IIO, device) if (device as usize) < crate::iio::DEVICES => {
            Ok(&crate::iio::SLOTS[device as usize])
        }
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
    let _off = hal::InterruptsOff::new();
    if let Some(prog) = SCHED.eject(id) {
        EJECTED.lock().push(prog);
    }
}

/// Drops ejected programs (task context, interrupts on).
pub fn drop_ejected() {
    let ejected = hal::without_interrupts(|| core::mem::take(&mut *EJECTED.lock()));
    drop(ejected);
}

/// The kernel's maps for its hooks' statistics and events.
struct Published {
    stats: Arc<MapObject>,
    events: Arc<MapObject>,
    trace: Arc<MapObject>,
    irq: Arc<MapObject>,
}

static PUBLISHED: spin::Once<Published> = spin::Once::new();
/// Tracing on (read from the trace map when statistics are published).
static TRACING: AtomicBool = AtomicBool::new(false);

/// Makes and pins the statistics, events and trace maps (at boot).
pub fn init() {
    let registry = crate::syscall::bpf_registry();
    let spec = |map_type, key_size, value_size, max_entries| MapSpec {
        map_type,
        key_size,
        value_size,
        max_entries,
        flags: 0,
    };
    use axiom_abi::uapi::types::map_type as mt;
    let made = (|| {
        Some(Published {
            stats: registry
                .kernel_map("hook_stats", spec(mt::ARRAY, 4, 656, 8), 1, paths::STATS)
                .ok()?,
            events: registry
                .kernel_map("hook_events", spec(mt::RINGBUF, 0, 0, 256 * 1024), 1, paths::EVENTS)
                .ok()?,
            trace: registry
                .kernel_map("hook_trace", spec(mt::ARRAY, 4, 4, 1), 1, paths::TRACE)
                .ok()?,
            irq: registry
                .kernel_map(
                    "irq_verdicts",
                    spec(mt::ARRAY, 4, 8 * irq_verdict::COUNTED as u32, crate::irq::LINES as u32),
                    1,
                    paths::IRQ_VERDICTS,
                )
                .ok()?,
        })
    })();
    match made {
        Some(p) => {
            PUBLISHED.call_once(|| p);
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
    let on = p.trace.map.lock().read(&0u32.to_le_bytes()).is_some_and(|v| v != [0, 0, 0, 0]);
    TRACING.store(on, Ordering::Relaxed);
}

/// Turns tracing on or off, as writing the trace map does.
pub fn set_tracing(on: bool) {
    if let Some(p) = PUBLISHED.get() {
        let _ = p.trace.map.lock().update(&0u32.to_le_bytes(), &u32::from(on).to_le_bytes(), 0);
    }
    TRACING.store(on, Ordering::Relaxed);
}

/// Takes every event waiting in the events ring buffer (as a reader
/// would); how many there were.
pub fn drain_events() -> usize {
    let Some(p) = PUBLISHED.get() else { return 0 };
    let mut n = 0;
    while p.events.map.lock().consume().is_some() {
        n += 1;
    }
    n
}

/// Records a dispatch in the events ring buffer while tracing is on.
/// Never wakes readers itself (the scheduler's lock may be held): the
/// next tick does.
pub fn trace(hook: u32, op: u32, event_ns: u64, d: &Dispatch) {
    if !TRACING.load(Ordering::Relaxed) {
        return;
    }
    let Some(p) = PUBLISHED.get() else { return };
    let event = HookEvent {
        event_ns,
        start_ns: d.start_ns,
        end_ns: d.end_ns,
        ret: d.r0,
        hook,
        cpu: hal::cpu_index() as u32,
        op,
        reserved: 0,
    };
    if let Ok(true) = p.events.map.lock().output(&event.to_bytes(), 0) {
        crate::poll::wake_soon();
    }
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
        trace(hook_index::TICK, 0, event, &d);
    }
    if hal::cpu_index() == 0 {
        crate::irq::tick(tick);
        crate::iio::tick(tick);
        if tick.is_multiple_of(10) {
            publish();
        }
        crate::poll::wake_pending();
    }
}
