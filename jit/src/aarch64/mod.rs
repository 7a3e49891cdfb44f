//! The arm64 backend (issue 6): named encoders ([`enc`]), checked against
//! LLVM's assembler.

pub mod enc;

#[cfg(test)]
mod enc_tests;
