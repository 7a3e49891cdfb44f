//! `axbpf trace`: Axiom's hook dispatches, from the kernel's pinned
//! statistics map and events ring buffer (`axiom_abi::hooks::paths`):
//! turns tracing on, reads the events for a while, turns it off, and
//! prints the first events and a per-hook latency table. Over `--remote`
//! (which cannot carry the ring buffer's mmap) the table comes from the
//! kernel's log2 histograms read before and after the window instead:
//! counts exact, percentiles bucket bounds, no single events.

use crate::failure::Failure;
use crate::sys::RingReader;
use crate::transport::{Buf, Kernel};
use axiom_abi::hooks::{HookEvent, HookStats, hook_index, paths, sched_op};
use axiom_abi::remote::Dir;
use axiom_abi::uapi::attr::MapElemAttr;
use axiom_abi::uapi::types::cmd;
use std::time::{Duration, Instant};

fn fail(message: String) -> Failure {
    Failure { message, log: String::new() }
}

fn get(k: &mut Kernel, path: &str) -> Result<i32, Failure> {
    crate::kernel::pinned(k, std::path::Path::new(path))?.ok_or_else(|| {
        fail(format!("{path}: not pinned: not an Axiom kernel, or its hooks' maps are missing"))
    })
}

fn elem(k: &mut Kernel, command: u32, fd: i32, key: u32, value: &mut [u8]) -> Result<(), Failure> {
    let mut buf = [0u8; 128];
    MapElemAttr { map_fd: fd as u32, ..MapElemAttr::default() }.write_to(&mut buf);
    let dir = if command == cmd::MAP_LOOKUP_ELEM { Dir::Out } else { Dir::In };
    let mut bufs = [
        Buf::input(8, &key.to_le_bytes()),
        Buf { parent: 0, offset: 16, dir, data: value.to_vec() },
    ];
    k.call(command, &mut buf, &mut bufs).map_err(|e| fail(format!("map element: {e}")))?;
    value.copy_from_slice(&bufs[1].data);
    Ok(())
}

/// The `p`-th percentile of sorted `v`.
pub fn percentile(v: &[u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let i = ((v.len() - 1) as f64 * p / 100.0).round() as usize;
    v[i.min(v.len() - 1)]
}

/// The `p`-th percentile of a log2 histogram: the upper bound of the
/// bucket it falls in.
pub fn histogram_percentile(buckets: &[u64], p: f64) -> u64 {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return 0;
    }
    let want = (total as f64 * p / 100.0).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, &n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= want {
            return (2u64 << i) - 1;
        }
    }
    u64::MAX
}

fn hook_name(i: u32) -> &'static str {
    hook_index::NAMES.get(i as usize).copied().unwrap_or("?")
}

fn op_name(hook: u32, op: u32) -> &'static str {
    if hook != hook_index::SCHED {
        return "";
    }
    match op {
        sched_op::SELECT_CPU => " select_cpu",
        sched_op::ENQUEUE => " enqueue",
        sched_op::DISPATCH => " dispatch",
        sched_op::RUNNING => " running",
        sched_op::STOPPING => " stopping",
        sched_op::TICK => " tick",
        _ => " ?",
    }
}

/// Traces for `ms` milliseconds; prints `show` events and the table
/// (with `bench`, also a `BENCH` line per hook and measure).
pub fn run(k: &mut Kernel, ms: u64, show: usize, bench: bool) -> Result<(), Failure> {
    if !k.is_local() {
        return window(k, ms);
    }
    let stats = get(k, paths::STATS)?;
    let events = get(k, paths::EVENTS)?;
    let switch = get(k, paths::TRACE)?;
    let info = crate::kernel::map_info(k, events)?;
    let mut ring = RingReader::new(events, info.max_entries as usize)
        .map_err(|e| fail(format!("mmap of the events ring buffer: errno {e}")))?;
    while ring.next().is_some() {}
    elem(k, cmd::MAP_UPDATE_ELEM, switch, 0, &mut 1u32.to_le_bytes())?;
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < Duration::from_millis(ms) {
        RingReader::wait(events, 20);
        while let Some(r) = ring.next() {
            if r.len() >= 48 {
                seen.push(HookEvent::from_bytes(&r));
            }
        }
    }
    elem(k, cmd::MAP_UPDATE_ELEM, switch, 0, &mut 0u32.to_le_bytes())?;
    while let Some(r) = ring.next() {
        if r.len() >= 48 {
            seen.push(HookEvent::from_bytes(&r));
        }
    }
    println!("{} dispatches traced in {ms} ms", seen.len());
    for e in seen.iter().take(show) {
        println!(
            "  {:>14} ns cpu {} {}{}: +{} ns to start, ran {} ns, returned {}",
            e.event_ns,
            e.cpu,
            hook_name(e.hook),
            op_name(e.hook, e.op),
            e.start_ns.saturating_sub(e.event_ns),
            e.end_ns.saturating_sub(e.start_ns),
            e.ret as i64
        );
    }
    println!(
        "{:<6} {:>9} {:>10} {:>10} {:>10}   {:>9} {:>9} {:>9}",
        "hook", "count", "start p50", "p99", "max", "run p50", "p99", "max"
    );
    for hook in 0..hook_index::NAMES.len() as u32 {
        let mine: Vec<&HookEvent> = seen.iter().filter(|e| e.hook == hook).collect();
        if mine.is_empty() {
            continue;
        }
        let mut lat: Vec<u64> =
            mine.iter().map(|e| e.start_ns.saturating_sub(e.event_ns)).collect();
        let mut run: Vec<u64> = mine.iter().map(|e| e.end_ns.saturating_sub(e.start_ns)).collect();
        lat.sort_unstable();
        run.sort_unstable();
        if bench {
            // The start latency's distribution: 0, 5, ..., 95 and 99 %.
            let points: Vec<String> = (0..=20)
                .map(|i| percentile(&lat, if i == 20 { 99.0 } else { 5.0 * i as f64 }).to_string())
                .collect();
            println!("CDF hook_{}_start {}", hook_name(hook), points.join(" "));
            for (what, v) in [("start", &lat), ("run", &run)] {
                let total: u64 = v.iter().sum();
                println!(
                    "BENCH hook_{}_{what} {} {total} {} min={} median={} p99={} max={}",
                    hook_name(hook),
                    v.len(),
                    total / v.len() as u64,
                    v[0],
                    percentile(v, 50.0),
                    percentile(v, 99.0),
                    v[v.len() - 1]
                );
            }
        }
        println!(
            "{:<6} {:>9} {:>10} {:>10} {:>10}   {:>9} {:>9} {:>9}",
            hook_name(hook),
            mine.len(),
            percentile(&lat, 50.0),
            percentile(&lat, 99.0),
            lat.last().copied().unwrap_or(0),
            percentile(&run, 50.0),
            percentile(&run, 99.0),
            run.last().copied().unwrap_or(0)
        );
    }
    irq_verdicts(k);
    println!("since boot (the kernel's log2 histograms; percentiles are bucket bounds, ns):");
    for hook in 0..hook_index::NAMES.len() as u32 {
        let mut value = vec![0u8; 656];
        if elem(k, cmd::MAP_LOOKUP_ELEM, stats, hook, &mut value).is_err() {
            continue;
        }
        let s = HookStats::from_bytes(&value);
        if s.runs == 0 && s.skipped == 0 {
            continue;
        }
        println!(
            "  {:<6} {} runs, {} skipped; start p50 <= {} p99 <= {}; run p50 <= {} p99 <= {}",
            hook_name(hook),
            s.runs,
            s.skipped,
            histogram_percentile(&s.latency, 50.0),
            histogram_percentile(&s.latency, 99.0),
            histogram_percentile(&s.run_time, 50.0),
            histogram_percentile(&s.run_time, 99.0)
        );
    }
    Ok(())
}

/// Prints the verdict counts of every interrupt line a filter has judged.
fn irq_verdicts(k: &mut Kernel) {
    if let Ok(verdicts) = get(k, paths::IRQ_VERDICTS) {
        for line in 0..16u32 {
            let mut value = vec![0u8; 40];
            if elem(k, cmd::MAP_LOOKUP_ELEM, verdicts, line, &mut value).is_err() {
                continue;
            }
            let n = |i: usize| {
                u64::from_le_bytes(value[8 * i..8 * i + 8].try_into().unwrap_or_default())
            };
            if (0..5).any(|i| n(i) != 0) {
                println!(
                    "irq {line} verdicts since boot: handled {}, dropped {}, deferred {}, rate-limited {}, other {}",
                    n(0),
                    n(1),
                    n(2),
                    n(3),
                    n(4)
                );
            }
        }
    }
}

/// Every hook's statistics (`None` for a hook the kernel does not have).
fn all_stats(k: &mut Kernel, stats: i32) -> Vec<Option<HookStats>> {
    (0..hook_index::NAMES.len() as u32)
        .map(|hook| {
            let mut value = vec![0u8; 656];
            elem(k, cmd::MAP_LOOKUP_ELEM, stats, hook, &mut value)
                .ok()
                .map(|()| HookStats::from_bytes(&value))
        })
        .collect()
}

/// The upper bound of the highest non-empty bucket.
fn histogram_max(buckets: &[u64]) -> u64 {
    buckets.iter().rposition(|&n| n != 0).map_or(0, |i| (2u64 << i) - 1)
}

/// The per-hook table of the dispatches in the next `ms` milliseconds,
/// from the kernel's histograms read before and after.
fn window(k: &mut Kernel, ms: u64) -> Result<(), Failure> {
    let stats = get(k, paths::STATS)?;
    let before = all_stats(k, stats);
    std::thread::sleep(Duration::from_millis(ms));
    let after = all_stats(k, stats);
    println!(
        "dispatches in {ms} ms, from the kernel's log2 histograms (over --remote the events ring \
         buffer is not carried: counts are exact, percentiles and max are bucket upper bounds, ns)"
    );
    println!(
        "{:<6} {:>9} {:>10} {:>10} {:>10}   {:>9} {:>9} {:>9}",
        "hook", "count", "start p50", "p99", "max", "run p50", "p99", "max"
    );
    for (hook, (b, a)) in before.iter().zip(&after).enumerate() {
        let (Some(b), Some(a)) = (b, a) else { continue };
        let diff = |x: &[u64], y: &[u64]| -> Vec<u64> {
            x.iter().zip(y).map(|(new, old)| new.saturating_sub(*old)).collect()
        };
        let (lat, run) = (diff(&a.latency, &b.latency), diff(&a.run_time, &b.run_time));
        let count = a.runs.saturating_sub(b.runs);
        if count == 0 {
            continue;
        }
        println!(
            "{:<6} {:>9} {:>10} {:>10} {:>10}   {:>9} {:>9} {:>9}",
            hook_name(hook as u32),
            count,
            histogram_percentile(&lat, 50.0),
            histogram_percentile(&lat, 99.0),
            histogram_max(&lat),
            histogram_percentile(&run, 50.0),
            histogram_percentile(&run, 99.0),
            histogram_max(&run)
        );
    }
    irq_verdicts(k);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_samples_and_histograms() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 51);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&[], 50.0), 0);
        let mut h = [0u64; 40];
        h[3] = 90; // 8..15 ns
        h[10] = 10; // 1024..2047 ns
        assert_eq!(histogram_percentile(&h, 50.0), 15);
        assert_eq!(histogram_percentile(&h, 90.0), 15);
        assert_eq!(histogram_percentile(&h, 99.0), 2047);
        assert_eq!(histogram_percentile(&[0; 40], 50.0), 0);
        assert_eq!(histogram_max(&h), 2047);
        assert_eq!(histogram_max(&[0; 40]), 0);
    }
}
