//! The benchmark's arm64 columns: Axiom, Axiom hardened and Debian's arm64
//! Linux, booted alternately in the same `qemu-system-aarch64 -M virt`
//! (TCG, a Cortex-A76, 1 vCPU, 128 MiB), each running the same static
//! `user/bench` (arm64 build) as its first user process. Linux runs twice:
//! as Debian boots it (KASLR on, and with it page-table isolation: the
//! kernel unmapped from user space, a TLB cost on every system call) and
//! with `nokaslr` (no isolation). Printed as a table, written to
//! `target/bench/compare-aarch64.json` and, with `publish`, to the arm64
//! section of `docs/benchmarks.md`.

use crate::compare::{add, axiom_boot_figures, cell, collect, commit, failed, summary_json};
use crate::figures::{AXIOM, Figure, HARDENED, LINUX, LINUX_NOKASLR, host_cpu};
use crate::stats::{Summary, summarize};
use std::time::Instant;
use xtask::bare::Arch;
use xtask::qemu::{Machine, boot_machine};

const MEMORY: &str = "128M";
const CPU: &str = "cortex-a76";

/// Whether a boot ended as it should: Axiom through semihosting with its
/// pass status; Linux powers off through PSCI (status 0) after the
/// program's verdict line.
fn passed(k: usize, status: Option<i32>, console: &str) -> bool {
    use axiom_abi::verdict::Verdict;
    match k {
        LINUX | LINUX_NOKASLR => status == Some(0) && console.contains("bench: done, 0 failed"),
        _ => Verdict::of(status) == Verdict::Passed,
    }
}

/// Runs the arm64 comparison with `boots` boots per kernel.
pub fn run(boots: usize, publish: bool) -> Result<(), String> {
    let axiom_kernel = xtask::bare::build_kernel_for(Arch::Aarch64)?;
    let axiom_initrd = xtask::user::initramfs_path_for(Arch::Aarch64);
    let linux = crate::linux::kernel_arm64()?;
    let linux_initrd = crate::linux::initramfs_for(Arch::Aarch64)?;
    let (kaslr, nokaslr) = (crate::linux::cmdline_arm64(false), crate::linux::cmdline_arm64(true));
    let machine = |kernel, initrd, append| Machine {
        kernel,
        initrd,
        machine: "virt",
        cpus: 1,
        memory: MEMORY,
        cpu: Some(CPU),
        append,
        timeout_s: 240,
        extra: &[],
    };
    let guests = [
        (
            AXIOM,
            "Axiom",
            machine(&axiom_kernel, &axiom_initrd, "axiom.sched=fallback axiom.bench=user"),
        ),
        (
            HARDENED,
            "Axiom hardened",
            machine(
                &axiom_kernel,
                &axiom_initrd,
                "axiom.harden axiom.sched=fallback axiom.bench=user",
            ),
        ),
        (LINUX, "Linux (KASLR, PTI)", machine(&linux.vmlinux, &linux_initrd, &kaslr)),
        (LINUX_NOKASLR, "Linux nokaslr", machine(&linux.vmlinux, &linux_initrd, &nokaslr)),
    ];
    let start = Instant::now();
    let mut figures: Vec<Figure> = Vec::new();
    let mut failures = Vec::new();
    let bar = indicatif::ProgressBar::new((boots * (guests.len() + 1)) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?,
    );
    for round in 1..=boots {
        for (k, name, m) in &guests {
            let what = format!("arm64 boot {round}/{boots}: {name}");
            if bar.is_hidden() {
                println!("[{:>5.1} s] {what}", start.elapsed().as_secs_f64());
            }
            bar.set_message(what);
            let b = boot_machine(m)?;
            bar.inc(1);
            if !passed(*k, b.status, &b.console) {
                failed(&bar, &mut failures, &format!("{name} boot {round}"), &b);
                continue;
            }
            collect(&mut figures, *k, &b.console);
            if *k == AXIOM || *k == HARDENED {
                for (figure, v) in axiom_boot_figures(&b.console) {
                    add(&mut figures, *k, figure, v);
                }
            }
            if let Some(at) = b.bench_at {
                add(&mut figures, *k, "host_first_line", at.as_nanos() as f64);
            }
        }
        // Axiom's hooks on arm64.
        let hooks = Machine { append: "axiom.bench=hooks", ..guests[0].2 };
        bar.set_message(format!("arm64 hooks boot {round}/{boots}"));
        let b = boot_machine(&hooks)?;
        bar.inc(1);
        if b.passed() {
            collect(&mut figures, AXIOM, &b.console);
        } else {
            failures.push(format!("Axiom hooks boot {round}"));
        }
    }
    bar.finish_and_clear();
    let rows = table(&figures);
    println!(
        "\nAxiom and Linux ({}) in the same QEMU: virt, -cpu {CPU}, 1 vCPU, {MEMORY}, tcg (host: \
         {}); median over {boots} boots, ±: standard deviation / mean; ratios: Axiom / Linux \
         (below 1: Axiom faster)",
        linux.package,
        host_cpu()
    );
    for row in &rows {
        println!("{row}");
    }
    let mut json_figures = serde_json::Map::new();
    for f in &figures {
        let column = |k: usize| summary_json(summarize(&f.samples[k]), &f.samples[k]);
        json_figures.insert(
            f.name.clone(),
            serde_json::json!({
                "axiom": column(AXIOM),
                "axiom_hardened": column(HARDENED),
                "linux_kaslr_pti": column(LINUX),
                "linux_nokaslr": column(LINUX_NOKASLR),
            }),
        );
    }
    let report = serde_json::json!({
        "commit": commit(),
        "accel": "tcg",
        "host_cpu": host_cpu(),
        "qemu": { "machine": "virt", "cpu": CPU, "vcpus": 1, "memory": MEMORY },
        "linux": linux.package,
        "linux_cmdlines": [kaslr, nokaslr],
        "boots": boots,
        "failed_boots": failures,
        "figures": json_figures,
    });
    let out = xtask::workspace::repo_root().join("target/bench/compare-aarch64.json");
    std::fs::create_dir_all(out.parent().unwrap_or(&out)).map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("written: {}", out.display());
    if publish {
        publish_docs(&rows, boots, &linux.package)?;
    }
    if failures.is_empty() { Ok(()) } else { Err(format!("failed boots: {}", failures.join(", "))) }
}

/// The table's lines (Markdown): one per figure, Axiom's columns, both
/// Linux columns and Axiom's ratio to each.
fn table(figures: &[Figure]) -> Vec<String> {
    let mut rows = vec![
        "| figure | Axiom | Axiom hardened | Linux (KASLR, PTI) | Linux nokaslr | Axiom / Linux | \
         Axiom / Linux nokaslr |"
            .to_string(),
        "| --- | --: | --: | --: | --: | --: | --: |".to_string(),
    ];
    for f in figures {
        let sum = |k: usize| summarize(&f.samples[k]);
        let ratio = |a: Option<Summary>, l: Option<Summary>| match (a, l) {
            (Some(a), Some(l)) if l.median > 0.0 => format!("{:.2}", a.median / l.median),
            _ => "-".into(),
        };
        rows.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            f.name,
            cell(&f.name, sum(AXIOM)),
            cell(&f.name, sum(HARDENED)),
            cell(&f.name, sum(LINUX)),
            cell(&f.name, sum(LINUX_NOKASLR)),
            ratio(sum(AXIOM), sum(LINUX)),
            ratio(sum(AXIOM), sum(LINUX_NOKASLR)),
        ));
    }
    rows
}

/// The arm64 section of docs/benchmarks.md, between its markers.
const BEGIN: &str =
    "<!-- begin: arm64, generated by `cargo xtask bench --only compare --arch aarch64` -->";
const END: &str = "<!-- end: arm64 -->";

fn publish_docs(rows: &[String], boots: usize, package: &str) -> Result<(), String> {
    let path = xtask::workspace::repo_root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let section = format!(
        "{BEGIN}\n\nMeasured {} at commit {} on {} (TCG), {boots} boots per kernel: Axiom (arm64 \
         Image), Axiom hardened and Debian's `{package}` in `qemu-system-aarch64 -M virt -cpu \
         {CPU}`, 1 vCPU, {MEMORY}, the same static `user/bench` (arm64) as the first user \
         process. \"Linux (KASLR, PTI)\" is Debian's kernel as it boots (`{}`): with KASLR on, \
         arm64 Linux unmaps the kernel from user space (page-table isolation). \"Linux \
         nokaslr\" adds `nokaslr` (no isolation). Medians, ± standard deviation / mean; ratios \
         below 1: Axiom faster. Rows missing a column: that kernel has no such figure (Axiom \
         has no pipe or fork; Linux prints no hook figures).\n\n{}\n\n{END}",
        crate::compare::today(),
        commit(),
        host_cpu(),
        crate::linux::cmdline_arm64(false),
        rows.join("\n")
    );
    let new = match (doc.find(BEGIN), doc.find(END)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &doc[..a], &doc[b + END.len()..]),
        _ => format!(
            "{}\n## arm64: Axiom and Linux in the same QEMU `virt`\n\n{section}\n",
            doc.trim_end()
        ),
    };
    std::fs::write(&path, new).map_err(|e| e.to_string())?;
    println!("written: {} (its arm64 section)", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boot_passes_by_its_kernels_own_verdict() {
        assert!(passed(AXIOM, Some(axiom_abi::verdict::PASS), ""));
        assert!(!passed(AXIOM, Some(1), ""), "QEMU's own status for a start that failed");
        assert!(!passed(AXIOM, Some(0), "bench: done, 0 failed"));
        assert!(passed(LINUX, Some(0), "BENCH x 1 2 3\nbench: done, 0 failed\n"));
        assert!(!passed(LINUX_NOKASLR, Some(0), "bench: done, 2 failed"));
        assert!(!passed(LINUX, None, "bench: done, 0 failed"));
    }

    #[test]
    fn the_table_has_both_linux_columns_and_ratios() {
        let mut f = Figure { name: "getpid".into(), ..Figure::default() };
        f.samples[AXIOM] = vec![100.0];
        f.samples[LINUX] = vec![400.0];
        f.samples[LINUX_NOKASLR] = vec![200.0];
        let rows = table(&[f]);
        assert!(rows[0].contains("Linux (KASLR, PTI)") && rows[0].contains("Linux nokaslr"));
        assert!(rows[2].starts_with("| getpid |"));
        assert!(rows[2].ends_with("| 0.25 | 0.50 |"), "{}", rows[2]);
    }
}
