//! The arm64 backend (issue 6): named encoders ([`enc`]), checked against
//! LLVM's assembler, the lowering of BPF programs ([`lower`]) and, with the
//! `disasm` feature, a disassembly of its output.

#[cfg(feature = "disasm")]
pub mod disasm;
pub mod enc;
pub mod lower;

pub use lower::compile;

#[cfg(test)]
mod enc_tests;
