//! Axiom and Linux side by side in the same QEMU: each boots on
//! `microvm` with the same CPU model, memory and vCPUs, runs the same
//! static benchmark program (`user/bench`) and prints its `BENCH` lines;
//! Axiom also in its hardened configuration (`axiom.harden`: constant
//! blinding), so the price of the protection is a number. The boots
//! alternate (Axiom, Axiom hardened, Linux, Axiom, ...) so the host's
//! noise falls on all. Every figure is summarised over the boots, printed
//! as Axiom / hardened / Linux / ratios, and written with its samples to
//! `target/bench/compare.json`.

use crate::boots::parse_bench;
use crate::figures::{AXIOM, Figure, HARDENED, LINUX, host_cpu, is_kib, show};
use crate::stats::{Summary, summarize};
use std::time::Instant;
use xtask::qemu::{Machine, accel, boot_machine};

/// The guests' memory: room for Linux's kernel and page cache; Axiom gets
/// the same.
const MEMORY: &str = "128M";
/// The CPU model: QEMU's default with the always-running APIC timer,
/// without which Linux never enables high-resolution timers.
const CPU: &str = "qemu64,+arat";

/// The index of the first item of `list` that `is` accepts, pushing
/// `make()` first when there is none.
pub(crate) fn entry<T>(
    list: &mut Vec<T>,
    is: impl Fn(&T) -> bool,
    make: impl FnOnce() -> T,
) -> usize {
    match list.iter().position(is) {
        Some(i) => i,
        None => {
            list.push(make());
            list.len() - 1
        }
    }
}

/// Today's date, UTC, `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// One kernel's latency distributions of one figure, a boot each: the
/// values at [`crate::plot::CDF_POINTS`] from the guest's `CDF` lines.
#[derive(Debug, Default)]
pub struct Distribution {
    /// The figure.
    pub name: String,
    /// Per kernel: one curve per boot.
    pub boots: [Vec<Vec<f64>>; 4],
}

/// Adds each `CDF <name> v0 .. v20` line of `console` to `dists`.
pub fn collect_cdfs(dists: &mut Vec<Distribution>, k: usize, console: &str) {
    for line in console.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("CDF") {
            continue;
        }
        let Some(name) = words.next() else { continue };
        let values: Vec<f64> = words.filter_map(|w| w.parse().ok()).collect();
        if values.len() != crate::plot::CDF_POINTS.len() {
            continue;
        }
        let i = entry(
            dists,
            |d| d.name == name,
            || Distribution { name: name.to_string(), ..Distribution::default() },
        );
        dists[i].boots[k].push(values);
    }
}

/// The point-by-point median of a kernel's curves.
pub fn median_curve(curves: &[Vec<f64>]) -> Option<Vec<f64>> {
    let n = curves.first()?.len();
    Some((0..n).map(|i| crate::boots::median(curves.iter().map(|c| c[i]).collect())).collect())
}

/// Adds each `BENCH` line of `console` (the median where the program
/// sampled, the mean otherwise) to `figures` under kernel `k`.
pub fn collect(figures: &mut Vec<Figure>, k: usize, console: &str) {
    for line in console.lines() {
        let Some((name, ns)) = parse_bench(line) else { continue };
        add(figures, k, &name, ns);
        // The hooks' tails matter as much as their medians.
        let p99 = line.split_whitespace().find_map(|w| w.strip_prefix("p99="));
        if let Some(p99) = p99.filter(|_| name.starts_with("hook_")).and_then(|v| v.parse().ok()) {
            add(figures, k, &format!("{name}_p99"), p99);
        }
    }
}

pub(crate) fn add(figures: &mut Vec<Figure>, k: usize, name: &str, ns: f64) {
    let i = entry(
        figures,
        |f| f.name == name,
        || Figure { name: name.to_string(), ..Figure::default() },
    );
    figures[i].samples[k].push(ns);
}

pub(crate) fn cell(name: &str, s: Option<Summary>) -> String {
    match s {
        Some(s) if s.n > 1 && s.mean > 0.0 => {
            format!("{} ±{:.0}%", show(name, s.median), 100.0 * s.stddev / s.mean)
        }
        Some(s) => show(name, s.median),
        None => "-".into(),
    }
}

/// The number after `key` in `console` (`... footprint 1928 KiB; ...`).
fn number_after(console: &str, key: &str) -> Option<f64> {
    let rest = console.split(key).nth(1)?;
    rest.split([' ', ',', ')']).next()?.parse().ok()
}

/// The figures Axiom's boot lines give: its memory (footprint, image
/// sections, page tables, KiB) and kernel entry to init (ns).
pub fn axiom_boot_figures(console: &str) -> Vec<(&'static str, f64)> {
    let memory = console.lines().find(|l| l.starts_with("axiom: memory: ")).unwrap_or("");
    [
        ("mem_used_kib", number_after(memory, "footprint ")),
        ("kernel_image_kib", number_after(memory, "memory: image ")),
        ("kernel_text_kib", number_after(memory, "text ")),
        ("kernel_data_kib", number_after(memory, "data+bss ")),
        ("page_tables_kib", number_after(memory, "page tables ")),
        ("init_clock", number_after(console, "init reached ").map(|us| us * 1000.0)),
    ]
    .into_iter()
    .filter_map(|(n, v)| Some((n, v?)))
    .collect()
}

pub(crate) fn summary_json(s: Option<Summary>, samples: &[f64]) -> serde_json::Value {
    match s {
        Some(s) => serde_json::json!({
            "n": s.n, "mean": s.mean, "median": s.median, "stddev": s.stddev,
            "min": s.min, "max": s.max, "p90": s.p90, "p99": s.p99, "samples": samples,
        }),
        None => serde_json::Value::Null,
    }
}

pub(crate) fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(xtask::workspace::repo_root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Reports boot `what` failed, with the end of its console.
pub(crate) fn failed(
    bar: &indicatif::ProgressBar,
    failures: &mut Vec<String>,
    what: &str,
    b: &xtask::qemu::Boot,
) {
    let tail: Vec<&str> = b.console.lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    say(
        bar,
        format!(
            "  {what} failed (exit {:?}); its console's end:\n    {}",
            b.status,
            tail.join("\n    ")
        ),
    );
    failures.push(what.to_string());
}

/// Prints a line above the progress bar, or plainly when there is none
/// (a log: indicatif draws nothing there, its `println` included).
pub(crate) fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() { println!("{line}") } else { bar.println(line) }
}

/// The figures on which Axiom and Linux are within 10 % of each other
/// with overlapping ranges: more boots are needed to tell them apart.
pub fn close_figures(figures: &[Figure]) -> Vec<String> {
    figures
        .iter()
        .filter(|f| {
            let (Some(a), Some(l)) = (summarize(&f.samples[AXIOM]), summarize(&f.samples[LINUX]))
            else {
                return false;
            };
            let near = l.median > 0.0 && (a.median / l.median - 1.0).abs() < 0.1;
            near && a.min <= l.max && l.min <= a.max
        })
        .map(|f| f.name.clone())
        .collect()
}

/// One run in the history: its label (date and commit) and Axiom's
/// medians.
type HistoryRun = (String, std::collections::BTreeMap<String, f64>);

/// Adds this run's Axiom medians to the committed history (replacing an
/// entry of the same commit); the history, oldest first.
fn record_history(path: &std::path::Path, figures: &[Figure]) -> Result<Vec<HistoryRun>, String> {
    let mut entries: Vec<serde_json::Value> = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let commit = commit();
    let date = today();
    let medians: serde_json::Map<String, serde_json::Value> = figures
        .iter()
        .filter_map(|f| {
            Some((f.name.clone(), serde_json::json!(summarize(&f.samples[AXIOM])?.median.round())))
        })
        .collect();
    entries.retain(|e| e.get("commit").and_then(|c| c.as_str()) != Some(commit.as_str()));
    entries.push(
        serde_json::json!({ "date": date, "commit": commit, "accel": accel(), "axiom": medians }),
    );
    let text = serde_json::to_string_pretty(&entries).map_err(|e| e.to_string())? + "\n";
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(entries
        .iter()
        .map(|e| {
            let label = format!(
                "{} {}",
                e.get("date").and_then(|d| d.as_str()).unwrap_or(""),
                e.get("commit").and_then(|c| c.as_str()).unwrap_or("")
            );
            let values = e
                .get("axiom")
                .and_then(|a| a.as_object())
                .map(|a| a.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect())
                .unwrap_or_default();
            (label, values)
        })
        .collect())
}

/// Boots each kernel `boots` times, alternating, and reports: the table
/// and `target/bench/compare.json`; with `publish`, also the plots, the
/// history and the generated section of `docs/benchmarks.md`.
pub fn run(boots: usize, publish: bool) -> Result<(), String> {
    let axiom_kernel = xtask::bare::build_kernel()?;
    let axiom_initrd = xtask::user::initramfs_path();
    let linux = crate::linux::kernel()?;
    let linux_initrd = crate::linux::initramfs()?;
    let tsc = xtask::qemu::host_tsc_khz();
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
                extra: &[],
            },
        ),
        (
            "Axiom hardened",
            Machine {
                kernel: &axiom_kernel,
                initrd: &axiom_initrd,
                machine: "microvm",
                cpus: 1,
                memory: MEMORY,
                cpu: Some(CPU),
                append: "axiom.harden axiom.sched=fallback axiom.bench=user",
                timeout_s: 120,
                extra: &[],
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
                extra: &[],
            },
        ),
    ];
    let start = Instant::now();
    let mut figures: Vec<Figure> = Vec::new();
    let mut dists: Vec<Distribution> = Vec::new();
    let mut failures = Vec::new();
    // A bar on a terminal; a line per boot in a log.
    let bar = indicatif::ProgressBar::new((boots * (guests.len() + 3)) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?,
    );
    // Two more rounds when Axiom and Linux come out close on a figure,
    // to tell them apart (once).
    let mut rounds = boots;
    let mut round = 0;
    while round < rounds {
        round += 1;
        if round == boots + 1 {
            bar.inc_length(2 * guests.len() as u64);
        }
        for (i, (name, m)) in guests.iter().enumerate() {
            let k = [AXIOM, HARDENED, LINUX][i];
            let what = format!(
                "boot {round}/{rounds}: {name} ({})",
                m.kernel.file_name().and_then(|n| n.to_str()).unwrap_or("?")
            );
            if bar.is_hidden() {
                println!("[{:>5.1} s] {what}", start.elapsed().as_secs_f64());
            }
            bar.set_message(what);
            let b = boot_machine(m)?;
            bar.inc(1);
            // Linux's /init reports through the same exit device, after
            // the program's own verdict line.
            if !b.passed() || (k == LINUX && !b.console.contains("bench: done, 0 failed")) {
                failed(&bar, &mut failures, &format!("{name} boot {round}"), &b);
                continue;
            }
            collect(&mut figures, k, &b.console);
            collect_cdfs(&mut dists, k, &b.console);
            if k != LINUX {
                for (name, v) in axiom_boot_figures(&b.console) {
                    add(&mut figures, k, name, v);
                }
            }
            if let Some(at) = b.bench_at {
                add(&mut figures, k, "host_first_line", at.as_nanos() as f64);
            }
        }
        if round == boots && rounds == boots {
            let close = close_figures(&figures);
            if !close.is_empty() {
                say(&bar, format!("  close on {}: two more rounds", close.join(", ")));
                rounds += 2;
            }
        }
    }
    // Axiom's hooks (interrupt entry, timer deadline and scan to BPF,
    // dispatch), in both configurations, and their price on a CPU-bound
    // workload.
    for round in 1..=boots {
        let runs = [
            (AXIOM, "axiom.bench=hooks"),
            (HARDENED, "axiom.harden axiom.bench=hooks"),
            (AXIOM, "axiom.bench=overhead"),
        ];
        for (k, append) in runs {
            let what = format!("hooks boot {round}/{boots}: Axiom `{append}`");
            if bar.is_hidden() {
                println!("[{:>5.1} s] {what}", start.elapsed().as_secs_f64());
            }
            bar.set_message(what);
            let hooks = Machine { append, ..guests[0].1 };
            let b = boot_machine(&hooks)?;
            bar.inc(1);
            if b.passed() {
                collect(&mut figures, k, &b.console);
                collect_cdfs(&mut dists, k, &b.console);
            } else {
                failures.push(format!("Axiom hooks boot {round} ({append})"));
            }
        }
    }
    bar.finish_and_clear();
    println!(
        "\nAxiom and Linux ({}) in the same QEMU: microvm, -cpu {CPU}, 1 vCPU, {MEMORY}, {} \
         (host: {}); median over {rounds} boots, ±: standard deviation / mean; ratio: Axiom / Linux \
         (below 1: Axiom faster); hardening: Axiom hardened / Axiom",
        linux.package,
        accel(),
        host_cpu()
    );
    println!(
        "{:<24} {:>17} {:>17} {:>17} {:>7} {:>9}",
        "figure", "Axiom", "Axiom hardened", "Linux", "ratio", "hardening"
    );
    let mut json_figures = serde_json::Map::new();
    for f in &figures {
        let sum = |k: usize| summarize(&f.samples[k]);
        let (a, l, h) = (sum(AXIOM), sum(LINUX), sum(HARDENED));
        let over = |x: Option<Summary>, y: Option<Summary>| match (x, y) {
            (Some(x), Some(y)) if y.median > 0.0 => Some(x.median / y.median),
            _ => None,
        };
        let (ratio, cost) = (over(a, l), over(h, a));
        let fmt = |r: Option<f64>| r.map_or("-".into(), |r| format!("{r:.2}"));
        println!(
            "{:<24} {:>17} {:>17} {:>17} {:>7} {:>9}",
            f.name,
            cell(&f.name, a),
            cell(&f.name, h),
            cell(&f.name, l),
            fmt(ratio),
            fmt(cost)
        );
        json_figures.insert(
            f.name.clone(),
            serde_json::json!({
                "unit": if is_kib(&f.name) { "KiB" } else { "ns" },
                "axiom": summary_json(a, &f.samples[AXIOM]),
                "axiom_hardened": summary_json(h, &f.samples[HARDENED]),
                "linux": summary_json(l, &f.samples[LINUX]),
                "ratio": ratio,
                "hardening_cost": cost,
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
        "boots": rounds,
        "failed_boots": failures,
        "figures": json_figures,
    });
    let out = xtask::workspace::repo_root().join("target/bench/compare.json");
    std::fs::create_dir_all(out.parent().unwrap_or(&out)).map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("written: {}", out.display());
    if publish {
        publish_docs(&figures, &dists, rounds, &linux.package)?;
    }
    if failures.is_empty() { Ok(()) } else { Err(format!("failed boots: {}", failures.join(", "))) }
}

/// The plots, the history and the generated section of
/// `docs/benchmarks.md`, from a run's figures.
fn publish_docs(
    figures: &[Figure],
    dists: &[Distribution],
    boots: usize,
    linux_package: &str,
) -> Result<(), String> {
    // The plots, committed under docs/bench.
    let docs = xtask::workspace::repo_root().join("docs/bench");
    std::fs::create_dir_all(&docs).map_err(|e| e.to_string())?;
    let spread = |v: &[f64]| summarize(v).map(|s| (s.min, s.median, s.max));
    let rows: Vec<_> = figures
        .iter()
        .filter(|f| !is_kib(&f.name))
        .map(|f| (f.name.clone(), spread(&f.samples[AXIOM]), spread(&f.samples[LINUX])))
        .collect();
    let caption = format!(
        "Axiom and Linux in the same QEMU (microvm, {}, 1 vCPU): median of {boots} boots, min to max",
        accel()
    );
    crate::plot::side_by_side(&docs.join("compare.svg"), &caption, &rows)?;
    let ratios: Vec<(String, f64)> =
        rows.iter().filter_map(|(n, a, l)| Some((n.clone(), (*a)?.1 / (*l)?.1))).collect();
    crate::plot::ratios(&docs.join("ratio.svg"), "Axiom / Linux, medians", &ratios)?;
    // Latency distributions: timer deadline to BPF on both kernels, and
    // Axiom's hooks (unhardened).
    let mut series = Vec::new();
    for d in dists {
        for (k, who) in [(AXIOM, "Axiom"), (LINUX, "Linux")] {
            if let Some(c) = median_curve(&d.boots[k]) {
                series.push((format!("{} ({who})", d.name), c));
            }
        }
    }
    let title = format!("Latency distributions, {} (median curve over the boots)", accel());
    crate::plot::cdfs(&docs.join("latency.svg"), &title, &series)?;
    // The history, one entry per commit, and the trend of key figures.
    let history = record_history(&docs.join("history.json"), figures)?;
    let key =
        ["getpid", "prog_load_27", "map_lookup", "hook_irq_start", "timer_to_bpf", "boot_clock"];
    let runs: Vec<String> = history.iter().map(|h| h.0.clone()).collect();
    let trend: Vec<(String, Vec<Option<f64>>)> = key
        .iter()
        .map(|k| (k.to_string(), history.iter().map(|h| h.1.get(*k).copied()).collect()))
        .collect();
    crate::plot::trend(
        &docs.join("trend.svg"),
        "Axiom's key figures over the recorded runs (medians, relative to the first)",
        &runs,
        &trend,
    )?;
    println!("plots: compare.svg, ratio.svg, latency.svg, trend.svg in {}", docs.display());
    let meta = crate::report::Meta {
        date: today(),
        commit: commit(),
        accel: accel().into(),
        host_cpu: host_cpu(),
        linux: linux_package.to_string(),
        boots,
    };
    let doc_path = xtask::workspace::repo_root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&doc_path).map_err(|e| e.to_string())?;
    let doc = crate::report::splice(&doc, &crate::report::render(&meta, figures))?;
    std::fs::write(&doc_path, doc).map_err(|e| e.to_string())?;
    println!("report: {} (its generated section)", doc_path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::human;

    #[test]
    fn values_print_in_readable_units() {
        assert_eq!(human(312.0), "312 ns");
        assert_eq!(human(25_400.0), "25.4 us");
        assert_eq!(human(4_560_000.0), "4.6 ms");
        assert_eq!(human(3_800_000_000.0), "3.80 s");
        assert_eq!(show("mem_used_kib", 1928.0), "1928 KiB");
        assert_eq!(axiom_boot_figures("no such line"), vec![]);
        let boot = "axiom: init reached 4554 us after kernel entry\naxiom: memory: image 1804 \
                    KiB (rodata 68 KiB, text 452 KiB, data+bss 1264 KiB incl. a 1024 KiB early \
                    heap), heap 16 KiB in use of 5680 KiB, page tables 108 KiB; footprint 1928 KiB";
        let f = axiom_boot_figures(boot);
        assert_eq!(
            f,
            vec![
                ("mem_used_kib", 1928.0),
                ("kernel_image_kib", 1804.0),
                ("kernel_text_kib", 452.0),
                ("kernel_data_kib", 1264.0),
                ("page_tables_kib", 108.0),
                ("init_clock", 4_554_000.0)
            ]
        );
    }

    #[test]
    fn bench_lines_become_figures_per_kernel() {
        let mut figures = Vec::new();
        let console = "noise\nBENCH getpid 100000 30000000 300\n\
                       BENCH prog_load_27 10 3000 300 min=200 median=250 max=900\nBENCH bad\n\
                       BENCH hook_irq_start 9 9 1 min=1 median=1800 p99=6000 max=9\n";
        collect(&mut figures, 0, console);
        collect(&mut figures, 1, "BENCH getpid 100000 10000000 100\n");
        collect(&mut figures, 0, "BENCH getpid 100000 31000000 310\n");
        assert_eq!(figures.len(), 4);
        assert_eq!(figures[3].name, "hook_irq_start_p99");
        assert_eq!(figures[3].samples[0], vec![6000.0]);
        assert_eq!(figures[0].name, "getpid");
        assert_eq!(figures[0].samples, [vec![300.0, 310.0], vec![100.0], vec![], vec![]]);
        assert_eq!(figures[1].samples, [vec![250.0], vec![], vec![], vec![]]);
    }

    #[test]
    fn cdf_lines_become_median_curves() {
        let mut d = Vec::new();
        let line = |base: u32| {
            let v: Vec<String> = (0..21).map(|i| (base + i).to_string()).collect();
            format!("CDF timer_to_bpf {}\n", v.join(" "))
        };
        collect_cdfs(&mut d, LINUX, &line(100));
        collect_cdfs(&mut d, LINUX, &line(300));
        collect_cdfs(&mut d, LINUX, &line(200));
        collect_cdfs(&mut d, AXIOM, "CDF short 1 2 3\nnoise\n");
        assert_eq!(d.len(), 1, "a line without 21 values is skipped");
        let m = median_curve(&d[0].boots[LINUX]).unwrap();
        assert_eq!((m[0], m[20]), (200.0, 220.0));
        assert_eq!(median_curve(&d[0].boots[AXIOM]), None);
    }

    #[test]
    fn close_figures_are_those_within_ten_percent_with_overlapping_ranges() {
        let f = |name: &str, a: Vec<f64>, l: Vec<f64>| Figure {
            name: name.into(),
            samples: [a, l, vec![], vec![]],
        };
        let figures = vec![
            f("close", vec![100.0, 104.0, 98.0], vec![101.0, 97.0, 103.0]),
            f("near_apart", vec![100.0, 100.5], vec![105.0, 106.0]),
            f("far", vec![100.0], vec![300.0]),
            f("axiom_only", vec![100.0], vec![]),
        ];
        assert_eq!(close_figures(&figures), vec!["close".to_string()]);
    }
}
