//! The arm64 backend (issue 6): named encoders ([`enc`]), checked against
//! LLVM's assembler, and the lowering of BPF programs ([`lower`]).

pub mod enc;
pub mod lower;

pub use lower::compile;

#[cfg(test)]
mod enc_tests;
