//! The structures of [`super::attr`] against the running kernel's own BTF
//! (`bpftool btf dump file /sys/kernel/btf/vmlinux`): every field of ours
//! at the offset Linux has for it. Skips with a reason without bpftool or
//! kernel BTF; the compile-time assertions hold everywhere regardless.

use super::attr::{BPF_ATTR_SIZE, LAYOUTS, check_attr_tail};
use super::errno::Errno;
use std::collections::HashMap;
use std::string::{String, ToString};
use std::vec::Vec;

struct Type {
    kind: String,
    name: String,
    size: Option<usize>,
    target: Option<u32>,
    members: Vec<(String, u32, usize)>,
}

fn parse(raw: &str) -> HashMap<u32, Type> {
    let mut types = HashMap::new();
    let mut cur = None;
    for line in raw.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            let (id, rest) = rest.split_once("] ").unwrap();
            let id: u32 = id.parse().unwrap();
            let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let name = rest.split('\'').nth(1).unwrap_or("").to_string();
            let field = |k: &str| {
                rest.split_whitespace()
                    .find_map(|w| w.strip_prefix(k))
                    .and_then(|v| v.parse::<usize>().ok())
            };
            let t = Type {
                kind: kind.to_string(),
                name,
                size: field("size="),
                target: field("type_id=").map(|v| v as u32),
                members: Vec::new(),
            };
            types.insert(id, t);
            cur = Some(id);
        } else if let (Some(id), Some(rest)) = (cur, line.strip_prefix('\t')) {
            let name = rest.split('\'').nth(1).unwrap_or("").to_string();
            let ty = rest
                .split("type_id=")
                .nth(1)
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok());
            let off = rest
                .split("bits_offset=")
                .nth(1)
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<usize>().ok());
            if let (Some(ty), Some(off)) = (ty, off) {
                types.get_mut(&id).unwrap().members.push((name, ty, off / 8));
            }
        }
    }
    types
}

fn resolve(types: &HashMap<u32, Type>, mut id: u32) -> u32 {
    while let Some(t) = types.get(&id) {
        if matches!(t.kind.as_str(), "TYPEDEF" | "CONST" | "VOLATILE") {
            id = t.target.unwrap();
        } else {
            break;
        }
    }
    id
}

/// Linux's (name, offset) pairs of a struct, anonymous unions expanded to
/// their members.
fn linux_fields(types: &HashMap<u32, Type>, id: u32) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (name, ty, off) in &types[&id].members {
        let t = resolve(types, *ty);
        if name == "(anon)" {
            for (n, _, o) in &types[&t].members {
                out.push((n.clone(), off + o));
            }
        } else {
            out.push((name.clone(), *off));
        }
    }
    out
}

#[test]
fn layouts_match_the_running_kernel() {
    let Ok(out) = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
    else {
        std::println!("SKIPPED: bpftool not available");
        return;
    };
    if !out.status.success() {
        std::println!("SKIPPED: no kernel BTF: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let types = parse(&String::from_utf8_lossy(&out.stdout));
    let find = |kind: &str, name: &str| {
        types.iter().find(|(_, t)| t.kind == kind && t.name == name).map(|(id, _)| *id).unwrap()
    };
    let attr = find("UNION", "bpf_attr");
    assert_eq!(types[&attr].size, Some(BPF_ATTR_SIZE), "sizeof(union bpf_attr)");
    let mut checked = 0;
    for (name, size, index, fields) in LAYOUTS {
        let id = if *index >= 0 {
            resolve(&types, types[&attr].members[*index as usize].1)
        } else {
            find("STRUCT", name)
        };
        assert_eq!(types[&id].size, Some(*size), "size of {name}");
        let linux = linux_fields(&types, id);
        for (field, off) in fields.iter() {
            let field = field.trim_end_matches('_');
            if field == "tail" {
                continue;
            }
            let theirs = linux.iter().find(|(n, _)| n == field).map(|(_, o)| *o);
            assert_eq!(theirs, Some(*off), "{name}.{field}");
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} fields checked");
    std::println!("uapi layouts: {checked} fields equal to the running kernel's BTF");
}

#[test]
fn attr_tail_rule() {
    assert_eq!(check_attr_tail(&[1, 2, 3], 8), Ok(()));
    assert_eq!(check_attr_tail(&[1, 2, 3, 0, 0], 3), Ok(()));
    assert_eq!(check_attr_tail(&[1, 2, 3, 0, 7], 3), Err(Errno::E2BIG));
}

#[test]
fn attrs_round_trip_through_bytes() {
    use super::attr::ProgLoadAttr;
    let a = ProgLoadAttr {
        prog_type: 6,
        insn_cnt: 3,
        insns: 0x1000,
        log_level: 2,
        prog_name: *b"hello\0\0\0\0\0\0\0\0\0\0\0",
        ..Default::default()
    };
    let mut buf = [0u8; 200];
    a.write_to(&mut buf);
    assert_eq!(ProgLoadAttr::from_bytes(&buf), a);
    // A short attribute reads as zero-extended.
    let short = ProgLoadAttr::from_bytes(&buf[..8]);
    assert_eq!((short.prog_type, short.insn_cnt, short.insns), (6, 3, 0));
}

#[test]
fn names() {
    use super::types::{CMD_NAMES, MAP_TYPE_NAMES, cmd, name_of};
    assert_eq!(name_of(CMD_NAMES, cmd::PROG_LOAD), Some("BPF_PROG_LOAD"));
    assert_eq!(name_of(MAP_TYPE_NAMES, 27), Some("BPF_MAP_TYPE_RINGBUF"));
    assert_eq!(Errno::EINVAL.name(), Some("EINVAL"));
}
