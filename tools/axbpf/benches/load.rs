//! Load time per object, side by side in one run: into Axiom's runtime in
//! this process (parse, relocate, verify, JIT), into the host kernel in
//! this process (parse, relocate, create maps, `BPF_PROG_LOAD`), and as
//! commands: `axbpf load` on both backends and Debian's `bpftool prog
//! loadall` (which includes process start-up, as axbpf's command does).
//! Run with `cargo bench -p axbpf --bench load`.
#![allow(missing_docs)]

use axiom_tests::{bpfprogs, linux};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_us(runs: usize, mut f: impl FnMut() -> bool) -> Option<f64> {
    let mut v = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        if !f() {
            return None;
        }
        v.push(t.elapsed().as_nanos() as f64 / 1000.0);
    }
    Some(median(v))
}

fn axiom_load(bytes: &[u8]) -> bool {
    let Ok(obj) = axiom_loader::load(bytes) else { return false };
    let platform = bpfprogs::platform(&obj.maps);
    let env = Env;
    obj.programs.iter().all(|p| {
        let insns = p.with_map_handles(|i| i as i32);
        let opts = axiom_verifier::Options::default();
        axiom_verifier::verify(&insns, p.prog_type, &platform, &opts).result.is_ok()
            && axiom_jit::x86_64::compile(&insns, &env, &axiom_jit::program::JitOptions::default())
                .is_ok()
    })
}

fn linux_load(bytes: &[u8]) -> bool {
    let Ok(obj) = axiom_loader::load(bytes) else { return false };
    let Ok(fds) = linux::create_object_maps(&obj.maps) else { return false };
    obj.programs.iter().all(|p| {
        let insns = p.with_map_handles(|i| fds[i].as_raw_fd());
        linux::load_program_type(p.prog_type, &insns).is_ok()
    })
}

struct Env;

impl axiom_jit::program::JitEnv for Env {
    fn helper_address(&self, id: i32) -> Option<u64> {
        Some(0x1000_0000 + id as u64 * 16)
    }
    fn resolve_lddw(&self, _: axiom_abi::instruction::Pseudo, imm: i32, next: i32) -> Option<u64> {
        Some(0x2000_0000 + imm as u64 * 4096 + next as u64)
    }
}

fn command_ms(runs: usize, program: &str, args: &[&str], after: impl Fn()) -> Option<f64> {
    time_us(runs, || {
        let ok = Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        after();
        ok
    })
    .map(|us| us / 1000.0)
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.digits$}"))
}

fn main() {
    let objects = bpfprogs::build().expect("bpf-progs build");
    let live = linux::available().is_ok();
    let bpffs = linux::bpffs();
    let bpftool = std::path::Path::new("/usr/sbin/bpftool").exists() && live && bpffs.is_ok();
    let axbpf = env!("CARGO_BIN_EXE_axbpf");
    println!("# Load time per object (host process; no virtualization: neither KVM nor TCG)\n");
    if !live {
        println!("Linux columns empty: host bpf() refused\n");
    }
    if let Err(why) = &bpffs {
        println!("bpftool column empty (its loadall pins): {why}\n");
    }
    println!(
        "| object | programs | insns | Axiom in-process µs | Linux in-process µs | Axiom / Linux | axbpf load (axiom) ms | axbpf load (linux) ms | bpftool prog loadall ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for path in &objects {
        let bytes = std::fs::read(path).unwrap();
        let obj = axiom_loader::load(&bytes).unwrap();
        let insns: usize = obj.programs.iter().map(|p| p.insns.len()).sum();
        let name = path.file_stem().unwrap().to_string_lossy().replace(".bpf", "");
        let ax = time_us(51, || axiom_load(&bytes));
        let lx = if live { time_us(21, || linux_load(&bytes)) } else { None };
        let p = path.to_str().unwrap();
        let ax_cmd = command_ms(11, axbpf, &["load", p, "--backend", "axiom"], || {});
        let lx_cmd = if live {
            command_ms(11, axbpf, &["load", p, "--backend", "linux"], || {})
        } else {
            None
        };
        let pin = format!("/sys/fs/bpf/axiom-bench-{}", std::process::id());
        let bt = if bpftool {
            command_ms(11, "/usr/sbin/bpftool", &["prog", "loadall", p, &pin], || {
                let _ = std::fs::remove_dir_all(&pin);
            })
        } else {
            None
        };
        let ratio = match (ax, lx) {
            (Some(a), Some(l)) => format!("{:.2}", a / l),
            _ => "n/a".into(),
        };
        println!(
            "| {name} | {} | {insns} | {} | {} | {ratio} | {} | {} | {} |",
            obj.programs.len(),
            opt(ax, 1),
            opt(lx, 1),
            opt(ax_cmd, 2),
            opt(lx_cmd, 2),
            opt(bt, 2)
        );
    }
    println!(
        "\nn/a for bpftool: libbpf 1.x refuses the object (legacy `maps` section). In-process figures are medians of 51 (Axiom) and 21 (Linux) loads; commands of 11."
    );
}
