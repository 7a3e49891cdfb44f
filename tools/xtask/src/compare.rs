//! Axiom and Linux side by side in the same QEMU: each boots on
//! `microvm` with the same CPU model, memory and vCPUs, runs the same
//! static benchmark program (`user/bench`) and prints its `BENCH` lines;
//! the boots alternate (Axiom, Linux, Axiom, ...) so the host's noise
//! falls on both. Every figure is summarised over the boots, printed as
//! Axiom / Linux / ratio, and written with its samples to
//! `target/bench/compare.json`.

use crate::qemu::{Machine, accel, boot_machine, parse_bench};
use crate::stats::{Summary, summarize};
use std::time::Instant;

/// The guests' memory: room for Linux's kernel and page cache; Axiom gets
/// the same.
const MEMORY: &str = "128M";
/// The CPU model: QEMU's default with the always-running APIC timer,
/// without which Linux never enables high-resolution timers.
const CPU: &str = "qemu64,+arat";

/// One kernel's samples of one figure.
#[derive(Debug, Default)]
pub struct Figure {
    /// The figure's name (a `BENCH` name, or `host_first_line_ns`).
    pub name: String,
    /// Per kernel (Axiom, Linux): one value per boot, ns.
    pub samples: [Vec<f64>; 2],
}

/// Adds each `BENCH` line of `console` (the median where the program
/// sampled, the mean otherwise) to `figures` under kernel `k`.
pub fn collect(figures: &mut Vec<Figure>, k: usize, console: &str) {
    for (name, ns) in console.lines().filter_map(parse_bench) {
        add(figures, k, &name, ns);
    }
}

fn add(figures: &mut Vec<Figure>, k: usize, name: &str, ns: f64) {
    let i = match figures.iter().position(|f| f.name == name) {
        Some(i) => i,
        None => {
            figures.push(Figure { name: name.to_string(), ..Figure::default() });
            figures.len() - 1
        }
    };
    figures[i].samples[k].push(ns);
}

/// A value in ns, in the unit that reads best.
pub fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn cell(s: Option<Summary>) -> String {
    match s {
        Some(s) if s.n > 1 => format!("{} ±{:.0}%", human(s.median), 100.0 * s.stddev / s.mean),
        Some(s) => human(s.median),
        None => "-".into(),
    }
}

fn summary_json(s: Option<Summary>, samples: &[f64]) -> serde_json::Value {
    match s {
        Some(s) => serde_json::json!({
            "n": s.n, "mean": s.mean, "median": s.median, "stddev": s.stddev,
            "min": s.min, "max": s.max, "p90": s.p90, "p99": s.p99, "samples": samples,
        }),
        None => serde_json::Value::Null,
    }
}

fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(crate::steps::repo_root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Boots each kernel `boots` times, alternating, and reports.
pub fn run(boots: usize) -> Result<(), String> {
    let axiom_kernel = crate::bare::build_kernel()?;
    let axiom_initrd = crate::user::initramfs_path();
    let linux = crate::linux::kernel()?;
    let linux_initrd = crate::linux::initramfs()?;
    let tsc = crate::qemu::host_tsc_khz();
    let linux_append = crate::linux::cmdline(tsc);
    let guests = [
        (
            "Axiom",
            Machine {
                kernel: &axiom_kernel,
                initrd: &axiom_initrd,
                machine: "microvm",
                cpus: 1,
                memory: MEMORY,
                cpu: Some(CPU),
                // The benchmark as the first user process, as on Linux:
                // no default policy loaded first (its load is a figure
                // of its own, `prog_load_27`).
                append: "axiom.sched=fallback axiom.bench=user",
                timeout_s: 120,
            },
        ),
        (
            "Linux",
            Machine {
                kernel: &linux.vmlinux,
                initrd: &linux_initrd,
                machine: "microvm",
                cpus: 1,
                memory: MEMORY,
                cpu: Some(CPU),
                append: &linux_append,
                timeout_s: 120,
            },
        ),
    ];
    let start = Instant::now();
    let mut figures: Vec<Figure> = Vec::new();
    let mut failures = Vec::new();
    // A bar on a terminal; a line per boot in a log.
    let bar = indicatif::ProgressBar::new((boots * guests.len()) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?,
    );
    for round in 1..=boots {
        for (k, (name, m)) in guests.iter().enumerate() {
            let what = format!(
                "boot {round}/{boots}: {name} ({})",
                m.kernel.file_name().and_then(|n| n.to_str()).unwrap_or("?")
            );
            if bar.is_hidden() {
                println!("[{:>5.1} s] {what}", start.elapsed().as_secs_f64());
            }
            bar.set_message(what);
            let b = boot_machine(m)?;
            bar.inc(1);
            if b.status != Some(1) {
                let tail: Vec<&str> = b.console.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bar.println(format!(
                    "  {name} boot {round} failed (exit {:?}); its console's end:\n    {}",
                    b.status,
                    tail.join("\n    ")
                ));
                failures.push(format!("{name} boot {round}"));
                continue;
            }
            collect(&mut figures, k, &b.console);
            if let Some(at) = b.bench_at {
                add(&mut figures, k, "host_first_line", at.as_nanos() as f64);
            }
        }
    }
    bar.finish_and_clear();
    println!(
        "\nAxiom and Linux ({}) in the same QEMU: microvm, -cpu {CPU}, 1 vCPU, {MEMORY}, {} \
         (host: {}); median over {boots} boots, ±: standard deviation / mean; ratio: Axiom / Linux \
         (below 1: Axiom faster)",
        linux.package,
        accel(),
        host_cpu()
    );
    println!("{:<20} {:>18} {:>18} {:>8}", "figure", "Axiom", "Linux", "ratio");
    let mut json_figures = serde_json::Map::new();
    for f in &figures {
        let [a, l] = [summarize(&f.samples[0]), summarize(&f.samples[1])];
        let ratio = match (a, l) {
            (Some(a), Some(l)) if l.median > 0.0 => Some(a.median / l.median),
            _ => None,
        };
        println!(
            "{:<20} {:>18} {:>18} {:>8}",
            f.name,
            cell(a),
            cell(l),
            ratio.map_or("-".into(), |r| format!("{r:.2}"))
        );
        json_figures.insert(
            f.name.clone(),
            serde_json::json!({
                "unit": "ns",
                "axiom": summary_json(a, &f.samples[0]),
                "linux": summary_json(l, &f.samples[1]),
                "ratio": ratio,
            }),
        );
    }
    let report = serde_json::json!({
        "commit": commit(),
        "accel": accel(),
        "host_cpu": host_cpu(),
        "qemu": { "machine": "microvm", "cpu": CPU, "vcpus": 1, "memory": MEMORY },
        "linux": linux.package,
        "linux_cmdline": linux_append,
        "boots": boots,
        "failed_boots": failures,
        "figures": json_figures,
    });
    let out = crate::steps::repo_root().join("target/bench/compare.json");
    std::fs::create_dir_all(out.parent().unwrap_or(&out)).map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("written: {}", out.display());
    if failures.is_empty() { Ok(()) } else { Err(format!("failed boots: {}", failures.join(", "))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_lines_become_figures_per_kernel() {
        let mut figures = Vec::new();
        let console = "noise\nBENCH getpid 100000 30000000 300\n\
                       BENCH prog_load_27 10 3000 300 min=200 median=250 max=900\nBENCH bad\n";
        collect(&mut figures, 0, console);
        collect(&mut figures, 1, "BENCH getpid 100000 10000000 100\n");
        collect(&mut figures, 0, "BENCH getpid 100000 31000000 310\n");
        assert_eq!(figures.len(), 2);
        assert_eq!(figures[0].name, "getpid");
        assert_eq!(figures[0].samples, [vec![300.0, 310.0], vec![100.0]]);
        assert_eq!(figures[1].samples, [vec![250.0], vec![]]);
    }

    #[test]
    fn values_print_in_readable_units() {
        assert_eq!(human(312.0), "312 ns");
        assert_eq!(human(25_400.0), "25.4 us");
        assert_eq!(human(4_560_000.0), "4.6 ms");
        assert_eq!(human(3_800_000_000.0), "3.80 s");
    }
}
