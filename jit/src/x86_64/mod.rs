//! The x86-64 backend (issue 4): named encoders ([`enc`]) and the lowering
//! of BPF programs with converging jump passes ([`lower`]).

#[cfg(feature = "disasm")]
pub mod disasm;
pub mod enc;
pub mod lower;

pub use crate::program::{JitEnv, JitError, JitImage, JitOptions, Reloc, TailCallAbi};
pub use lower::{TRAP_BYTE, compile};

#[cfg(test)]
mod enc_tests;
