//! Tracing the hooks' dispatches: while tracing is on (a pinned one-`u32`
//! map, `axiom_abi::hooks::paths::TRACE`), each dispatch of any hook goes
//! as a `HookEvent` into a pinned ring buffer (`paths::EVENTS`), which
//! `axbpf trace` reads. The hooks (`hooks`), the scheduler's policy
//! (`bpf_sched`), the interrupt lines (`irq`) and the IIO devices (`iio`)
//! all record here; `hooks` makes the maps at boot and wakes the readers
//! at CPU 0's tick.

use alloc::sync::Arc;
use axiom_abi::hooks::HookEvent;
use axiom_bpf::hook::Dispatch;
use axiom_bpf::object::MapObject;
use axiom_hal as hal;
use core::sync::atomic::{AtomicBool, Ordering};

/// The events ring buffer and the trace switch.
struct Maps {
    events: Arc<MapObject>,
    trace: Arc<MapObject>,
}

static MAPS: spin::Once<Maps> = spin::Once::new();
/// Tracing on (read from the trace map when statistics are published).
static TRACING: AtomicBool = AtomicBool::new(false);
/// Events written since the readers were last woken.
static UNREAD: AtomicBool = AtomicBool::new(false);

/// The maps tracing uses (made at boot by `hooks`).
pub fn install(events: Arc<MapObject>, trace: Arc<MapObject>) {
    MAPS.call_once(|| Maps { events, trace });
}

/// Reads the trace switch from its map (every 10 ticks, when the
/// statistics are published).
pub fn refresh() {
    let Some(m) = MAPS.get() else { return };
    let on = m.trace.map.lock().read(&0u32.to_le_bytes()).is_some_and(|v| v != [0, 0, 0, 0]);
    TRACING.store(on, Ordering::Relaxed);
}

/// Turns tracing on or off, as writing the trace map does.
pub fn set_tracing(on: bool) {
    if let Some(m) = MAPS.get() {
        let _ = m.trace.map.lock().update(&0u32.to_le_bytes(), &u32::from(on).to_le_bytes(), 0);
    }
    TRACING.store(on, Ordering::Relaxed);
}

/// Takes every event waiting in the events ring buffer (as a reader
/// would); how many there were.
pub fn drain_events() -> usize {
    let Some(m) = MAPS.get() else { return 0 };
    let mut n = 0;
    while m.events.map.lock().consume().is_some() {
        n += 1;
    }
    n
}

/// Records a dispatch in the events ring buffer while tracing is on.
/// Never wakes readers itself (the scheduler's lock may be held): the
/// next tick does (see [`take_unread`]).
pub fn trace(hook: u32, op: u32, event_ns: u64, d: &Dispatch) {
    if !TRACING.load(Ordering::Relaxed) {
        return;
    }
    let Some(m) = MAPS.get() else { return };
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
    if let Ok(true) = m.events.map.lock().output(&event.to_bytes(), 0) {
        UNREAD.store(true, Ordering::Release);
    }
}

/// Whether events were written that readers should be woken for (and
/// forgets it).
pub fn take_unread() -> bool {
    UNREAD.swap(false, Ordering::AcqRel)
}
