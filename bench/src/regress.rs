//! Regression tracking: a quick, Axiom-only measurement (the system-call
//! benchmark and the hooks' dispatch, a few boots) compared figure by
//! figure with the baseline committed in `docs/bench/baseline.json`.
//! Changes are printed; only a gross regression fails (a figure more than
//! [`GROSS`] times its baseline, seen again when re-measured), never a
//! small one: the machines that run this differ and are noisy.
//! `cargo xtask bench --update-baseline` rewrites the baseline on purpose.

use crate::boots::parse_bench;
use crate::stats::summarize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use xtask::qemu::{Machine, accel, boot_machine};

/// How many times its baseline a figure must take to fail.
pub const GROSS: f64 = 3.0;

/// Figures set by the host's timer delivery or by a single sample, not by
/// Axiom's code: shown, never failed on.
const UNGATED: [&str; 5] =
    ["timer_jitter", "timer_lateness", "timer_to_bpf", "hook_tick_start", "boot_clock"];

/// The committed baseline's path.
pub fn baseline_path() -> PathBuf {
    xtask::workspace::repo_root().join("docs/bench/baseline.json")
}

/// One figure then and now.
#[derive(Debug, PartialEq)]
pub struct Change {
    /// Its name.
    pub name: String,
    /// The baseline's median, ns.
    pub baseline: f64,
    /// This run's median, ns.
    pub now: f64,
    /// Whether it can fail the check.
    pub gated: bool,
}

impl Change {
    /// Now over then.
    pub fn ratio(&self) -> f64 {
        if self.baseline > 0.0 { self.now / self.baseline } else { 1.0 }
    }

    /// Whether it is a gross regression.
    pub fn gross(&self) -> bool {
        self.gated && self.ratio() > GROSS
    }
}

/// The figures both runs have, in this run's order.
pub fn compare(baseline: &BTreeMap<String, f64>, now: &[(String, f64)]) -> Vec<Change> {
    now.iter()
        .filter_map(|(name, v)| {
            let base = *baseline.get(name)?;
            Some(Change {
                name: name.clone(),
                baseline: base,
                now: *v,
                gated: !UNGATED.contains(&name.as_str()),
            })
        })
        .collect()
}

/// Reads a baseline file's figures (`{"figures": {"name": ns, ...}}`).
pub fn parse_baseline(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let figures = v.get("figures").and_then(|f| f.as_object()).ok_or("no `figures` object")?;
    figures
        .iter()
        .map(|(k, v)| v.as_f64().map(|x| (k.clone(), x)).ok_or(format!("`{k}` is not a number")))
        .collect()
}

/// Axiom's quick figures: the medians over `boots` boots of the
/// system-call benchmark, and one boot of the hooks' benchmark (p50s).
pub fn measure(boots: usize) -> Result<Vec<(String, f64)>, String> {
    let kernel = xtask::bare::build_kernel()?;
    let initrd = xtask::user::initramfs_path();
    let machine = |append| Machine {
        kernel: &kernel,
        initrd: &initrd,
        machine: "microvm",
        cpus: 1,
        memory: "128M",
        cpu: Some("qemu64,+arat"),
        append,
        timeout_s: 120,
        extra: &[],
    };
    let mut samples: Vec<(String, Vec<f64>)> = Vec::new();
    let runs = std::iter::repeat_n("axiom.sched=fallback axiom.bench=user", boots)
        .chain(std::iter::once("axiom.bench=hooks"));
    for append in runs {
        let b = boot_machine(&machine(append))?;
        if !b.passed() {
            let tail: Vec<&str> = b.console.lines().rev().take(15).collect();
            return Err(format!(
                "boot with `{append}` failed (exit {:?}):\n{}",
                b.verdict(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        for (name, ns) in b.console.lines().filter_map(parse_bench) {
            match samples.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.push(ns),
                None => samples.push((name, vec![ns])),
            }
        }
    }
    Ok(samples.into_iter().filter_map(|(n, v)| summarize(&v).map(|s| (n, s.median))).collect())
}

/// The check (or, with `update`, the baseline's rewrite).
pub fn run(update: bool) -> Result<(), String> {
    const BOOTS: usize = 3;
    let now = measure(BOOTS)?;
    let path = baseline_path();
    if update {
        let figures: serde_json::Map<String, serde_json::Value> =
            now.iter().map(|(n, v)| (n.clone(), serde_json::json!(v.round()))).collect();
        let json = serde_json::json!({
            "what": "Axiom's quick benchmark figures (ns, medians): `cargo xtask bench --quick` \
                     compares against these; `--update-baseline` rewrites them",
            "accel": accel(),
            "boots": BOOTS,
            "figures": figures,
        });
        std::fs::create_dir_all(path.parent().unwrap_or(&path)).map_err(|e| e.to_string())?;
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("baseline written: {} ({} figures)", path.display(), now.len());
        return Ok(());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let baseline = parse_baseline(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut changes = compare(&baseline, &now);
    print(&changes);
    // A gross change is measured again before it fails anything.
    if changes.iter().any(Change::gross) {
        println!("re-measuring: a figure is beyond {GROSS}x its baseline");
        let again = measure(BOOTS)?;
        for c in changes.iter_mut().filter(|c| c.gross()) {
            if let Some((_, v)) = again.iter().find(|(n, _)| *n == c.name) {
                c.now = c.now.min(*v);
            }
        }
        print(&changes);
    }
    let gross: Vec<String> = changes
        .iter()
        .filter(|c| c.gross())
        .map(|c| format!("{} {:.1}x", c.name, c.ratio()))
        .collect();
    if gross.is_empty() {
        Ok(())
    } else {
        Err(format!("gross regressions against {}: {}", path.display(), gross.join(", ")))
    }
}

fn print(changes: &[Change]) {
    println!(
        "Axiom's quick figures against the baseline ({}; fails only beyond {GROSS}x, twice)",
        accel()
    );
    println!("{:<26} {:>12} {:>12} {:>7}", "figure", "baseline ns", "now ns", "ratio");
    for c in changes {
        let mark = if c.gross() {
            "  GROSS"
        } else if !c.gated {
            "  (not gated)"
        } else if c.ratio() > 1.25 {
            "  slower"
        } else if c.ratio() < 0.8 {
            "  faster"
        } else {
            ""
        };
        println!("{:<26} {:>12.0} {:>12.0} {:>7.2}{mark}", c.name, c.baseline, c.now, c.ratio());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gross_gated_changes_fail() {
        let baseline = parse_baseline(
            r#"{"figures": {"getpid": 300, "map_lookup": 4000, "timer_lateness": 4000, "gone": 1}}"#,
        )
        .unwrap();
        let now = vec![
            ("getpid".to_string(), 950.0),
            ("map_lookup".to_string(), 11_000.0),
            ("timer_lateness".to_string(), 400_000.0),
            ("new_figure".to_string(), 5.0),
        ];
        let c = compare(&baseline, &now);
        assert_eq!(c.len(), 3, "figures missing on either side are skipped");
        assert!(c[0].gross(), "3.2x fails");
        assert!(!c[1].gross(), "2.75x is only printed");
        assert!(!c[2].gross() && !c[2].gated, "host timer figures never fail");
        assert!((c[0].ratio() - 950.0 / 300.0).abs() < 1e-9);
    }

    #[test]
    fn malformed_baselines_are_refused() {
        assert!(parse_baseline("{}").is_err());
        assert!(parse_baseline(r#"{"figures": {"x": "fast"}}"#).is_err());
        assert!(parse_baseline("not json").is_err());
    }

    #[test]
    fn the_committed_baseline_parses() {
        let text = std::fs::read_to_string(baseline_path()).unwrap();
        let b = parse_baseline(&text).unwrap();
        assert!(b.contains_key("getpid") && b.contains_key("hook_irq_start"), "{b:?}");
    }
}
