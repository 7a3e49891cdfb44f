//! Time: the calibrated cycle counter as the clock, and the periodic tick
//! with its interval statistics.

use axiom_hal as hal;
use core::sync::atomic::{AtomicU64, Ordering};

/// Ticks per second.
pub const HZ: u64 = 1000;

/// Nanoseconds per cycle in 32.32 fixed point (0 before calibration):
/// the conversion, on every hook dispatch, is a multiply and a shift, not
/// a 128-bit division (a slow library call).
static NS_PER_CYCLE_FX: AtomicU64 = AtomicU64::new(0);

/// Records the cycle counter's rate.
pub fn set_rate(khz: u64) {
    let fx = if khz == 0 { 0 } else { ((1_000_000u128 << 32) / khz as u128) as u64 };
    NS_PER_CYCLE_FX.store(fx, Ordering::Relaxed);
}

/// Cycles to nanoseconds (0 before calibration).
pub fn cycles_to_ns(cycles: u64) -> u64 {
    ((cycles as u128 * NS_PER_CYCLE_FX.load(Ordering::Relaxed) as u128) >> 32) as u64
}

/// Ticks seen on CPU 0.
static TICKS: AtomicU64 = AtomicU64::new(0);
/// Cycle counter at each of the first `STAMPS` ticks.
const STAMPS: usize = 1001;
static STAMP: [AtomicU64; STAMPS] = [const { AtomicU64::new(0) }; STAMPS];
/// Hooks run on each tick (the scheduler's).
static ON_TICK: spin::Once<fn()> = spin::Once::new();
/// The BPF tick hook's handler (see [`on_tick_hook`]).
static TICK_HOOK: spin::Once<fn(u64, u64)> = spin::Once::new();

/// Ticks so far.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Runs `f` on every tick, after the tick is counted (set once).
pub fn on_tick(f: fn()) {
    ON_TICK.call_once(|| f);
}

/// Runs `f` on every tick before the [`on_tick`] function, with the
/// cycle the tick entered the handler at and the ticks so far: the BPF
/// tick hook (set once, before the tick starts).
pub fn on_tick_hook(f: fn(u64, u64)) {
    TICK_HOOK.call_once(|| f);
}

/// The tick handler of every CPU: CPU 0's ticks are counted and stamped
/// (they are the system's time); then the BPF tick hook, then the
/// scheduler's tick.
pub fn tick() {
    let now = hal::cycles();
    if hal::cpu_index() == 0 {
        let n = TICKS.fetch_add(1, Ordering::Relaxed) as usize;
        if n < STAMPS {
            STAMP[n].store(now, Ordering::Relaxed);
        }
    }
    if let Some(f) = TICK_HOOK.get() {
        f(now, ticks());
    }
    if let Some(f) = ON_TICK.get() {
        f();
    }
}

/// Interval statistics over the stamped ticks, in nanoseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct TickStats {
    /// Intervals measured.
    pub count: u64,
    /// Mean interval.
    pub mean: u64,
    /// Standard deviation (the jitter).
    pub stddev: u64,
    /// Shortest interval.
    pub min: u64,
    /// Longest interval.
    pub max: u64,
}

/// Statistics of the intervals between the first `n + 1` ticks (`None`
/// until that many have been stamped).
pub fn tick_stats(n: usize) -> Option<TickStats> {
    if n == 0 || n >= STAMPS || (ticks() as usize) < n + 1 {
        return None;
    }
    let interval = |i: usize| {
        cycles_to_ns(STAMP[i + 1].load(Ordering::Relaxed) - STAMP[i].load(Ordering::Relaxed))
    };
    let (mut sum, mut min, mut max) = (0u64, u64::MAX, 0u64);
    for i in 0..n {
        let d = interval(i);
        sum += d;
        min = min.min(d);
        max = max.max(d);
    }
    let mean = sum / n as u64;
    let var: u128 =
        (0..n).map(|i| (interval(i) as i128 - mean as i128).pow(2) as u128).sum::<u128>()
            / n as u128;
    Some(TickStats { count: n as u64, mean, stddev: (var as u64).isqrt(), min, max })
}
