//! The `.bpf.o` loader on the objects of `bpf-progs/`: every program of
//! every object parses, links and passes Axiom's verifier, and, where the
//! host allows `bpf()`, the host kernel loads the same instructions with
//! the same maps (created as libbpf creates them).

use axiom_loader::load;
use axiom_tests::bpfprogs;
use axiom_tests::linux;
use axiom_verifier::{Options, verify_with_lines};
use std::os::fd::AsRawFd;

#[test]
fn every_bpf_progs_object_loads_on_axiom_and_linux() {
    let objects = bpfprogs::build().expect("bpf-progs build");
    assert!(objects.len() >= 10, "only {} objects", objects.len());
    let live = linux::available();
    if let Err(why) = &live {
        println!("host Linux bpf() not usable ({why}): Axiom's verifier only");
    }
    let (mut programs, mut on_linux, mut with_lines, mut failures) = (0, 0, 0, Vec::new());
    for path in &objects {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let obj = match load(&bytes) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        assert_eq!(obj.license, "GPL", "{name}");
        let platform = bpfprogs::platform(&obj.maps);
        let fds = match &live {
            Ok(()) => match linux::create_object_maps(&obj.maps) {
                Ok(f) => Some(f),
                Err(e) => {
                    failures.push(format!("{name}: Linux maps: {e}"));
                    continue;
                }
            },
            Err(_) => None,
        };
        for p in &obj.programs {
            programs += 1;
            let lines: Vec<axiom_verifier::LineInfo> = p
                .lines
                .iter()
                .map(|l| axiom_verifier::LineInfo {
                    insn: l.insn,
                    source: l.source.clone(),
                    file: l.file.clone(),
                    line: l.line,
                })
                .collect();
            let insns = p.with_map_handles(|i| i as i32);
            let opts = Options { log_level: 2, log_size: 1 << 22, ..Options::default() };
            let ours = verify_with_lines(&insns, p.prog_type, &platform, &opts, &lines);
            // clang's line info reaches the log: `; source @ file:line`.
            if ours.log.contains(".bpf.c:") {
                with_lines += 1;
            }
            if let Err(e) = &ours.result {
                failures.push(format!("{name}/{}: Axiom refused: {e}\n{}", p.name, ours.log));
            }
            if let Some(fds) = &fds {
                let insns = p.with_map_handles(|i| fds[i].as_raw_fd());
                match linux::load_program_type(p.prog_type, &insns) {
                    Ok(_) => on_linux += 1,
                    Err(r) => failures
                        .push(format!("{name}/{}: Linux refused: {} {}", p.name, r.errno, r.log)),
                }
            }
        }
    }
    println!(
        "loader: {} objects, {programs} programs verified by Axiom ({with_lines} logs with source lines), {on_linux} loaded by Linux",
        objects.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(with_lines, programs, "line info missing from some logs");
}

#[test]
fn core_relocations_follow_the_running_kernel() {
    let Ok(vmlinux) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        println!("skipped: no /sys/kernel/btf/vmlinux");
        return;
    };
    let obj = bpfprogs::build_one("tests/data/core_task.bpf.c").expect("clang-22");
    let bytes = std::fs::read(&obj).unwrap();
    // Without target BTF: refused, naming the relocation.
    let e = load(&bytes).unwrap_err();
    assert!(e.to_string().contains("relocation kind 0 of `0:1`"), "{e}");
    // Against the kernel's BTF: `&t->tgid` becomes the kernel's offset,
    // which bpftool reads from the same BTF independently.
    let o = axiom_loader::load_for(&bytes, Some(&vmlinux)).unwrap();
    let p = &o.programs[0];
    let patched = p.insns.iter().find(|i| i.code == 0xb7 && i.dst == 1).unwrap().imm;
    let raw = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"])
        .output();
    if let Ok(out) = raw {
        let text = String::from_utf8_lossy(&out.stdout);
        let start = text.find("STRUCT 'task_struct'").expect("task_struct in BTF");
        let line = text[start..].lines().find(|l| l.trim_start().starts_with("'tgid'")).unwrap();
        let bits: i32 = line.split("bits_offset=").nth(1).unwrap().trim().parse().unwrap();
        assert_eq!(patched, bits / 8, "tgid offset");
    }
    assert_ne!(patched, 4, "the local offset was kept");
    // And the kernel accepts the relocated program (a kprobe).
    if linux::available().is_ok()
        && let Err(r) = linux::load_program_type(p.prog_type, &p.insns)
    {
        panic!("Linux refused the relocated program: {} {}", r.errno, r.log);
    }
}
