//! The `.bpf.o` loader on the objects of `bpf-progs/`: every program of
//! every object parses, links and passes Axiom's verifier, and, where the
//! host allows `bpf()`, the host kernel loads the same instructions with
//! the same maps (created as libbpf creates them).

use axiom_loader::{MapOrigin, load};
use axiom_tests::bpfprogs;
use axiom_tests::linux;
use axiom_verifier::linux::LinuxPlatform;
use axiom_verifier::platform::MapInfo;
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
        let platform = LinuxPlatform {
            maps_by_fd: obj
                .maps
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let info = MapInfo {
                        map_type: m.map_type,
                        key_size: m.key_size,
                        value_size: m.value_size,
                        max_entries: m.max_entries,
                        read_only: matches!(m.origin, MapOrigin::Data { frozen: true, .. }),
                    };
                    (i as i32, info)
                })
                .collect(),
            maps_by_index: Vec::new(),
            possible_cpus: linux::possible_cpus(),
        };
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
