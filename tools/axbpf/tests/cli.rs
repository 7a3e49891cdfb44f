//! `axbpf` as a user runs it: every bpf-progs object loads on both
//! backends, runs on Linux, dumps; and every failure (file missing, not
//! ELF, not BPF, unknown section, no license, verifier refusal, map
//! creation refused) ends with a clear message and exit status 1, never a
//! panic.

use axiom_tests::bpfprogs;
use axiom_tests::paths::repo_root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn axbpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_axbpf")).args(args).output().expect("axbpf runs")
}

fn ok(args: &[&str]) -> String {
    let out = axbpf(args);
    let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "axbpf {args:?} failed:\n{so}\n{se}");
    so.into_owned()
}

/// Runs a command that must fail: exit 1, the reason on stderr, no panic.
fn fails(args: &[&str], reason: &str) -> String {
    let out = axbpf(args);
    let se = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "axbpf {args:?}: {se}");
    assert!(!se.contains("panicked"), "axbpf {args:?} panicked: {se}");
    assert!(se.contains(reason), "axbpf {args:?}: expected `{reason}` in:\n{se}");
    se
}

fn linux() -> bool {
    match axiom_tests::linux::available() {
        Ok(()) => true,
        Err(why) => {
            println!("Linux backend skipped: host bpf() not usable: {why}");
            false
        }
    }
}

fn build(src: &str) -> PathBuf {
    bpfprogs::build_one(src).expect("clang-22")
}

#[test]
fn every_object_loads_on_both_backends() {
    let live = linux();
    let objects = bpfprogs::build().unwrap();
    for obj in &objects {
        let o = obj.to_str().unwrap();
        let out = ok(&["load", o, "--backend", "axiom"]);
        assert!(out.contains("programs"), "{out}");
        if live {
            let out = ok(&["load", o, "--backend", "linux"]);
            assert!(out.contains("linux: loaded"), "{out}");
        }
    }
    println!("axbpf: {} objects loaded", objects.len());
}

#[test]
fn axiom_hook_programs_verify_and_linux_refuses_them() {
    let objects = bpfprogs::build_axiom().unwrap();
    assert!(objects.len() >= 4, "{objects:?}");
    for obj in &objects {
        let o = obj.to_str().unwrap();
        if o.ends_with("sched_bad.bpf.o") || o.ends_with("iio_bad.bpf.o") {
            fails(&["verify", o], "invalid bpf_context access");
            continue;
        }
        let out = ok(&["verify", o]);
        assert!(out.contains("accepted"), "{out}");
        if linux() {
            // Linux has no such program type.
            fails(&["load", o, "--backend", "linux"], "Invalid argument");
        }
    }
}

#[test]
fn verify_prints_linux_format_logs_with_source_lines() {
    let objects = bpfprogs::build().unwrap();
    let obj = objects.iter().find(|p| p.ends_with("subprogs.bpf.o")).unwrap();
    let out = ok(&["verify", obj.to_str().unwrap(), "--log-level", "2"]);
    assert!(out.contains("subprogs.bpf.c:"), "{out}");
    assert!(out.contains("call pc+"), "{out}");
    assert!(out.contains("processed "), "{out}");
    assert!(out.contains("axiom: hash_len accepted"), "{out}");
}

#[test]
fn run_and_dumps() {
    let objects = bpfprogs::build().unwrap();
    let obj = objects.iter().find(|p| p.ends_with("socket_count.bpf.o")).unwrap();
    let o = obj.to_str().unwrap();
    if linux() {
        // The filter returns skb->len: Linux's test run takes the 14-byte
        // Ethernet header off the 64 bytes of default data.
        let out = ok(&["--json", "run", o, "--prog", "count_packets"]);
        assert!(out.starts_with("{\"retval\":50,"), "{out}");
    }
    let out = ok(&["--json", "run", o, "--prog", "count_packets", "--backend", "axiom"]);
    assert!(out.starts_with("{\"retval\":50,"), "{out}");
    let xlated = ok(&["prog", "dump", "xlated", o, "--prog", "count_packets"]);
    assert!(xlated.contains("call 0x1"), "{xlated}");
    for arch in ["x86-64", "aarch64"] {
        let jited = ok(&["prog", "dump", "jited", o, "--prog", "count_packets", "--arch", arch]);
        assert!(
            jited.contains("; insn 0") && jited.contains("bytes for 16 BPF instructions"),
            "{jited}"
        );
    }
    fails(&["run", o, "--prog", "nope"], "no program `nope` (the object has: count_packets)");
    if linux() {
        let listing = ok(&["--json", "prog", "list"]);
        assert!(listing.starts_with('[') && listing.trim_end().ends_with(']'), "{listing}");
    }
}

#[test]
fn failures_are_clear_and_never_panic() {
    fails(&["verify", "/nonexistent.bpf.o"], "/nonexistent.bpf.o: cannot read");
    let cargo_toml = repo_root().join("Cargo.toml");
    fails(&["verify", cargo_toml.to_str().unwrap()], "not a valid ELF object");
    let native = std::env::current_exe().unwrap();
    fails(&["verify", native.to_str().unwrap()], "not EM_BPF");
    // Renamed sections: no license, unknown program section.
    let objects = bpfprogs::build().unwrap();
    let good =
        std::fs::read(objects.iter().find(|p| p.ends_with("socket_count.bpf.o")).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("axbpf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let renamed = |from: &[u8], to: &[u8], name: &str| {
        let mut b = good.clone();
        for at in 0..b.len() - from.len() {
            if b[at..at + from.len()] == *from {
                b[at..at + to.len()].copy_from_slice(to);
            }
        }
        let p = dir.join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let p = renamed(b"license\0", b"lxcense\0", "nolicense.bpf.o");
    fails(&["load", p.to_str().unwrap(), "--backend", "axiom"], "no `license` section");
    let p = renamed(b"socket\0", b"sockex\0", "unknown.bpf.o");
    fails(
        &["load", p.to_str().unwrap(), "--backend", "axiom"],
        "section `sockex`: no program type",
    );
    // A verifier refusal, with its log on stderr.
    let unsafe_obj = build("tests/data/unsafe_lookup.bpf.c");
    let u = unsafe_obj.to_str().unwrap();
    let se = fails(&["verify", u, "--log-level", "1"], "Axiom's verifier refused it");
    assert!(se.contains("invalid mem access 'map_value_or_null'"), "{se}");
    assert!(se.contains("unsafe_lookup.bpf.c:"), "source lines in the log: {se}");
    if linux() {
        fails(&["load", u, "--backend", "linux"], "Linux refused it");
        let bad = build("tests/data/bad_ringbuf.bpf.c");
        fails(
            &["load", bad.to_str().unwrap(), "--backend", "linux"],
            "map `events`: creation refused",
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The program names of an object, from `axbpf load --backend axiom`.
fn programs(obj: &str) -> Vec<String> {
    ok(&["load", obj, "--backend", "axiom"])
        .lines()
        .filter_map(|l| {
            l.strip_prefix("axiom: loaded ").map(|r| r.split(' ').next().unwrap().to_string())
        })
        .collect()
}

#[test]
fn runs_give_the_same_return_value_on_both_backends() {
    let live = linux();
    let objects = bpfprogs::build().unwrap();
    let dir = std::env::temp_dir().join(format!("axbpf-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // 64 zero bytes (the default) and 200 bytes of an IPv4 frame.
    let mut frame = vec![0u8; 200];
    frame[12] = 0x08;
    let big = dir.join("frame.bin");
    std::fs::write(&big, &frame).unwrap();
    let (mut compared, mut xdp) = (0, 0);
    for obj in &objects {
        let o = obj.to_str().unwrap();
        for p in programs(o) {
            for data in [None, Some(big.to_str().unwrap())] {
                let mut args = vec!["--json", "run", o, "--prog", p.as_str(), "--repeat", "3"];
                if let Some(d) = data {
                    args.extend(["--data", d]);
                }
                let mut axiom = args.clone();
                axiom.extend(["--backend", "axiom"]);
                let ours = ok(&axiom);
                if p.contains("xdp") || p.contains("protocols") {
                    xdp += 1;
                }
                let retval = |s: &str| s.split(',').next().unwrap().to_string();
                if live {
                    let mut linux = args.clone();
                    linux.extend(["--backend", "linux"]);
                    let theirs = ok(&linux);
                    assert_eq!(retval(&ours), retval(&theirs), "{o} {p} {data:?}");
                    compared += 1;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("axbpf run: {compared} runs equal on Axiom and Linux ({xdp} of them XDP)");
    assert!(!live || compared >= 28, "only {compared} runs compared");
    assert_eq!(xdp, 6, "the XDP programs all ran");
}

#[test]
fn pinned_objects_are_inspected_by_id() {
    let objects = bpfprogs::build().unwrap();
    let obj = objects.iter().find(|p| p.ends_with("socket_count.bpf.o")).unwrap();
    let o = obj.to_str().unwrap();
    fails(&["load", o, "--attach", "sched"], "--attach sched: no program in the object");
    fails(&["load", o, "--attach", "iio:accel"], "expected iio:DEVICE");
    fails(&["load", o, "--attach", "iio:0"], "no program in the object for that hook");
    fails(&["load", o, "--attach", "irq:x"], "expected irq:LINE");
    fails(&["load", o, "--attach", "irq:8"], "no program in the object for that hook");
    fails(&["load", o, "--attach", "nowhere"], "no such hook");
    fails(&["detach", "nowhere"], "no such hook");
    fails(
        &["load", o, "--backend", "axiom", "--pin", "/sys/fs/bpf/x"],
        "--pin and --attach need the linux backend",
    );
    if !linux() {
        return;
    }
    if let Err(why) = axiom_tests::linux::bpffs() {
        println!("pinning skipped: {why}");
        return;
    }
    let dir = format!("/sys/fs/bpf/axbpf-test-{}", std::process::id());
    let out = ok(&["load", o, "--pin", &dir]);
    assert!(out.contains(&format!("pinned {dir}/count_packets (program id ")), "{out}");
    // The pinned program by the id `load` printed (other tests load
    // programs of the same name and free them meanwhile).
    let prog = out
        .split("(program id ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("program id printed")
        .to_string();
    let listed = ok(&["--json", "prog", "list"]);
    assert!(listed.contains(&format!("{{\"id\":{prog},")), "{listed}");
    let shown = ok(&["prog", "show", &prog]);
    assert!(shown.contains("name count_packets") && shown.contains("jited"), "{shown}");
    // The map is the one the pinned program uses (other tests load
    // programs with the same map names and free them meanwhile).
    let map = shown
        .split("map_ids ")
        .nth(1)
        .and_then(|ids| ids.split([',', '\n']).next())
        .expect("map_ids listed")
        .trim()
        .to_string();
    let listed = ok(&["--json", "map", "list"]);
    assert!(listed.contains(&format!("{{\"id\":{map},")) && listed.contains("totals"), "{listed}");
    let value = "01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00";
    ok(&["map", "update", &map, "--key", "00 00 00 00", "--value", value]);
    let found = ok(&["--json", "map", "lookup", &map, "--key", "00000000"]);
    assert_eq!(found.trim(), "{\"key\":[0,0,0,0],\"value\":[1,0,0,0,0,0,0,0,2,0,0,0,0,0,0,0]}");
    let dump = ok(&["map", "dump", &map]);
    assert!(dump.contains("Found 1 elements"), "{dump}");
    fails(&["map", "lookup", &map, "--key", "0000"], "the key has 2 bytes, the map's keys 4");
    fails(&["map", "update", &map, "--key", "00000000", "--value", "01"], "the value has 1 bytes");
    fails(&["map", "update", &map, "--key", "00000000", "--value", "zz"], "not hex");
    // Arrays have no deletion: Linux's EINVAL, reported.
    fails(&["map", "delete", &map, "--key", "00000000"], "delete: Invalid argument");
    fails(&["map", "dump", "4000000000"], "map 4000000000");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn core_objects_load_on_linux_and_are_refused_clearly_on_axiom() {
    let obj = build("tests/data/core_task.bpf.c");
    let o = obj.to_str().unwrap();
    fails(&["load", o, "--backend", "axiom"], "needs the target's BTF");
    if linux() && Path::new("/sys/kernel/btf/vmlinux").exists() {
        let out = ok(&["load", o, "--backend", "linux"]);
        assert!(out.contains("linux: loaded current_tgid (kprobe/do_nanosleep"), "{out}");
    }
}
