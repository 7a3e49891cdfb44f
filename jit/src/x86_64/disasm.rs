//! Disassembly of JIT output (iced-x86's decoder and Intel formatter), with
//! each BPF instruction's index shown where its code starts.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter};

/// Disassembles `code` as placed at `base`. `insn_offsets[i]` is where the
/// code of BPF slot `i` starts; those offsets get a `; insn i` line.
pub fn disassemble(code: &[u8], base: u64, insn_offsets: &[u32]) -> String {
    let mut out = String::new();
    let mut decoder = Decoder::with_ip(64, code, base, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut insn = Instruction::default();
    let mut text = String::new();
    let mut next_mark = 0;
    while decoder.can_decode() {
        let off = decoder.position();
        crate::program::mark_insns(&mut out, insn_offsets, &mut next_mark, off);
        decoder.decode_out(&mut insn);
        text.clear();
        formatter.format(&insn, &mut text);
        let bytes: String =
            code[off..off + insn.len()].iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "{:8x}: {bytes:<24} {text}", base + off as u64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x86_64::{JitEnv, JitOptions, compile};

    struct NoHelpers;
    impl JitEnv for NoHelpers {
        fn helper_address(&self, _: i32) -> Option<u64> {
            None
        }
    }

    #[test]
    fn shows_instructions_and_bpf_markers() {
        let prog = axiom_abi::asm::assemble("mov %r0, 7\nadd %r0, %r1\nexit").unwrap();
        let img = compile(&prog, &NoHelpers, &JitOptions::default()).unwrap();
        let text = disassemble(&img.code, 0, &img.insn_offsets);
        assert!(text.contains("; insn 0"), "{text}");
        assert!(text.contains("; insn 1"), "{text}");
        assert!(text.contains("mov eax,7"), "{text}");
        assert!(text.contains("add rax,rdi"), "{text}");
        assert!(text.trim_end().ends_with("ret"), "{text}");
    }
}
