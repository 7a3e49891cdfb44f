//! The BPF conformance suite on the reference interpreter: all 313 programs
//! give the expected 64-bit `r0`, the 45 `unused-*` encodings are refused by
//! the decoder, and the assembler refuses the suite's malformed sources.

use axiom_abi::instruction::decode_all;
use axiom_tests::conformance::{load_dir, parse, run_interpreter};
use axiom_tests::paths::conformance_dir;

fn corpus(sub: &str) -> Vec<(String, String)> {
    let dir = conformance_dir().join(sub);
    let files = load_dir(&dir).unwrap_or_else(|e| {
        panic!("cannot read the conformance suite at {}: {e} (shared/ must be beside the repository, or set AXIOM_SHARED)", dir.display())
    });
    files
        .into_iter()
        .map(|(p, t)| (p.file_name().unwrap().to_string_lossy().into_owned(), t))
        .collect()
}

#[test]
fn every_conformance_program_passes_on_the_interpreter() {
    let files = corpus("");
    assert_eq!(files.len(), 313, "expected the 313 programs of the suite");
    let mut failures = Vec::new();
    for (name, text) in &files {
        let case = match parse(name, text) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let Some(expected) = case.result else {
            failures.push(format!("{name}: no expected result"));
            continue;
        };
        match run_interpreter(&case) {
            Ok(r0) if r0 == expected => {}
            Ok(r0) => failures.push(format!("{name}: r0 = {r0:#x}, expected {expected:#x}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!("conformance: {} passed, {} failed", files.len() - failures.len(), failures.len());
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn asm_and_raw_sections_agree() {
    // lddw.data carries both forms: the assembler must produce the raw words.
    let mut both = 0;
    for (name, text) in corpus("") {
        let case = parse(&name, &text).unwrap();
        if let (Some(asm), Some(raw)) = (&case.asm, &case.raw) {
            let assembled = axiom_abi::asm::assemble(asm).unwrap();
            assert_eq!(&assembled, raw, "{name}");
            both += 1;
        }
    }
    assert!(both >= 1);
}

#[test]
fn unused_field_encodings_are_refused_by_the_decoder() {
    let files: Vec<_> =
        corpus("negative").into_iter().filter(|(n, _)| n.starts_with("unused-")).collect();
    assert_eq!(files.len(), 45);
    for (name, text) in files {
        let case = parse(&name, &text).unwrap();
        let raw = case.raw.expect("unused-* files are raw");
        let err = decode_all(&raw).find_map(Result::err);
        let err = err.unwrap_or_else(|| panic!("{name}: decoded without error"));
        // The message names the field or the opcode.
        let msg = err.to_string();
        assert!(msg.contains("insn 0"), "{name}: {msg}");
    }
}

#[test]
fn malformed_sources_are_refused_by_the_assembler() {
    let must_refuse = [
        "empty_instructions.data",
        "invalid_imm32_dec_range.data",
        "invalid_imm32_hex_range.data",
        "invalid_label.data",
        "invalid_lock.data",
        "invalid_lock2.data",
        "invalid_mnemonic.data",
        "invalid_offset.data",
        "invalid_offset_range.data",
        "invalid_operand_count.data",
        "invalid_register.data",
        "invalid_unknown_directive.data",
    ];
    let files = corpus("negative");
    for name in must_refuse {
        let (_, text) =
            files.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name} missing"));
        let refused = match parse(name, text) {
            Err(_) => true,
            Ok(case) => case.program().is_err(),
        };
        assert!(refused, "{name} was accepted");
    }
    // A runner must compare all 64 bits: this file's expected value differs
    // from the true result only in the high half.
    let (_, text) =
        files.iter().find(|(n, _)| n == "incorrect_return_value_high_bits.data").unwrap();
    let case = parse("high_bits", text).unwrap();
    let r0 = run_interpreter(&case).unwrap();
    assert_eq!(r0 as u32, case.result.unwrap() as u32);
    assert_ne!(r0, case.result.unwrap());
}
