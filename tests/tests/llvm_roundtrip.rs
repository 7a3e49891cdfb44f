//! LLVM-syntax assembler and disassembler against LLVM itself:
//! - every conformance program disassembles and assembles back to the same
//!   slots, and LLVM's assembler (`llvm-mc-22`) makes the same bytes from
//!   Axiom's text;
//! - a clang-built object disassembled by `llvm-objdump-22`: Axiom's
//!   disassembly of each instruction's bytes is objdump's text, and Axiom's
//!   assembly of objdump's text is those bytes.
//!
//! The LLVM parts skip with a printed reason where clang-22 or LLVM 22 is
//! missing.

use axiom_abi::Insn;
use axiom_abi::instruction::{decode, decode_all};
use axiom_abi::llvm::{assemble, assemble_program, disassemble, disassemble_program};
use axiom_tests::conformance::{load_dir, parse};
use axiom_tests::paths::{conformance_dir, repo_root};
use std::path::PathBuf;
use std::process::Command;

fn tool(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin").join(name);
    p.exists().then_some(p)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("axiom-llvm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn conformance_programs() -> Vec<(String, Vec<Insn>)> {
    load_dir(&conformance_dir())
        .unwrap()
        .into_iter()
        .map(|(p, t)| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let prog = parse(&name, &t).unwrap().program().unwrap();
            (name, prog)
        })
        .collect()
}

#[test]
fn conformance_programs_round_trip() {
    for (name, prog) in conformance_programs() {
        let text = disassemble_program(&prog).unwrap();
        assert_eq!(assemble_program(&text).unwrap(), prog, "{name}:\n{text}");
    }
}

#[test]
fn llvm_mc_assembles_axiom_text_to_the_same_bytes() {
    let Some(mc) = tool("llvm-mc-22") else {
        println!("SKIPPED: llvm-mc-22 not installed (cargo xtask setup installs it)");
        return;
    };
    // One file of every conformance instruction LLVM's syntax can express
    // (bpf-to-bpf calls are Axiom's `call pc+N`).
    let mut lines = Vec::new();
    let mut want: Vec<u8> = Vec::new();
    for (_, prog) in conformance_programs() {
        for r in decode_all(&prog) {
            let (pc, insn) = r.unwrap();
            let text = disassemble(&insn);
            if text.starts_with("call pc") {
                continue;
            }
            lines.push(text);
            want.extend(prog[pc..pc + insn.len()].iter().flat_map(|i| i.to_bytes()));
        }
    }
    let src = scratch("all.s");
    let obj = scratch("all.o");
    std::fs::write(&src, lines.join("\n") + "\n").unwrap();
    let out = Command::new(&mc)
        .args(["-triple", "bpfel", "-mcpu=v4", "-filetype=obj", "-o"])
        .arg(&obj)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "llvm-mc refused Axiom's text: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = std::fs::read(&obj).unwrap();
    // The .text section holds exactly the instructions; find it by content.
    let pos = data.windows(want.len()).position(|w| w == want.as_slice());
    assert!(pos.is_some(), "llvm-mc's bytes differ from Axiom's for {} instructions", lines.len());
    println!("llvm-mc: {} instructions assemble to the same bytes", lines.len());
}

#[test]
fn clang_object_round_trips_through_objdump_text() {
    let (Some(clang), Some(objdump)) = (tool("clang-22"), tool("llvm-objdump-22")) else {
        println!(
            "SKIPPED: clang-22 or llvm-objdump-22 not installed (cargo xtask setup installs them)"
        );
        return;
    };
    let obj = scratch("roundtrip.bpf.o");
    let out = Command::new(&clang)
        .args(["-O2", "-target", "bpf", "-mcpu=v4", "-c"])
        .arg(repo_root().join("tests/data/roundtrip.bpf.c"))
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(out.status.success(), "clang: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(&objdump).arg("-d").arg(&obj).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut checked, mut local_calls) = (0, 0);
    for line in text.lines() {
        // `   12:\t18 01 00 ... \tr1 = 0x0 ll`
        let Some((idx, rest)) = line.trim_start().split_once(':') else { continue };
        if idx.is_empty() || !idx.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let mut cols = rest.splitn(3, '\t');
        let _ = cols.next();
        let (Some(bytes), Some(asm)) = (cols.next(), cols.next()) else { continue };
        let bytes: Vec<u8> =
            bytes.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect();
        let slots: Vec<Insn> = Insn::slice_from_bytes(&bytes).unwrap().collect();
        let asm = match asm.rfind(" <") {
            Some(at) if asm.trim_end().ends_with('>') => &asm[..at],
            _ => asm,
        }
        .trim();
        let (insn, _) = decode(&slots, 0).unwrap_or_else(|e| panic!("{line}: {e}"));
        if slots[0].code == 0x85 && slots[0].src == 1 {
            // objdump prints bpf-to-bpf calls like helper calls.
            local_calls += 1;
            continue;
        }
        assert_eq!(disassemble(&insn), asm, "{line}");
        assert_eq!(assemble(asm), Ok(insn), "{line}");
        checked += 1;
    }
    println!("objdump round trip: {checked} instructions, {local_calls} bpf-to-bpf calls skipped");
    assert!(checked >= 50, "only {checked} instructions checked");
}
