//! The arm64 backend (issue 6): named encoders ([`enc`]), checked against
//! LLVM's assembler, the lowering of BPF programs ([`lower`]) and, with the
//! `disasm` feature, a disassembly of its output.

#[cfg(feature = "disasm")]
pub mod disasm;
pub mod enc;
pub mod lower;

pub use lower::compile;

/// The byte that pads code to its page: four of them are `udf #0`,
/// permanently undefined, so a stray jump into padding traps.
pub const TRAP_BYTE: u8 = 0x00;

#[cfg(test)]
mod enc_tests;
