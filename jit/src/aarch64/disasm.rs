//! Disassembly of arm64 JIT output (yaxpeax-arm's decoder), with each BPF
//! instruction's index shown where its code starts.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{InstDecoder, Instruction};

/// Disassembles `code` as placed at `base`. `insn_offsets[i]` is where the
/// code of BPF slot `i` starts; those offsets get a `; insn i` line.
pub fn disassemble(code: &[u8], base: u64, insn_offsets: &[u32]) -> String {
    let mut out = String::new();
    let decoder = InstDecoder::default();
    let mut next_mark = 0;
    for (k, word) in code.chunks_exact(4).enumerate() {
        let off = k * 4;
        crate::program::mark_insns(&mut out, insn_offsets, &mut next_mark, off);
        let mut insn = Instruction::default();
        let mut reader = U8Reader::new(word);
        let text = match decoder.decode_into(&mut insn, &mut reader) {
            Ok(()) => format!("{insn}"),
            Err(e) => format!("(bad: {e})"),
        };
        let w = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        let _ = writeln!(out, "{:8x}: {w:08x}  {text}", base + off as u64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aarch64::compile;
    use crate::program::{JitEnv, JitOptions};

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
        assert!(text.contains("add x7, x7, x0"), "{text}");
        assert!(text.trim_end().ends_with("ret"), "{text}");
    }
}
