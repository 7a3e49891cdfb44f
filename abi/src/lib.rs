//! The bottom of Axiom: the eBPF instruction set and Linux's BPF user ABI.
//!
//! * [`insn`] is the 8-byte instruction slot and its fields.
//! * [`opcode`] holds the opcode field constants of RFC 9669.
//! * [`instruction`] is the typed, validated form of an instruction: decoding
//!   refuses every invalid encoding with a [`instruction::DecodeError`], and
//!   encoding is its exact inverse.
//! * [`alu`] is what the ALU instructions compute on concrete values, the
//!   one definition the interpreter and the verifier share.
//! * [`asm`] (feature `alloc`) assembles the conformance suite's text syntax;
//!   [`llvm`] assembles and disassembles LLVM's BPF syntax, the one users see.
//! * [`uapi`] is Linux's `bpf()` ABI: commands, `bpf_attr` members, map,
//!   program and attach types, helpers, flags, errno, BTF and ring buffers.
//! * [`remote`] (feature `alloc`) is the remote `bpf()` transport's framing.
//! * [`hooks`] is what Axiom adds to that ABI: its hooks' program, attach
//!   and link types and their context structures.
//! * [`feed`] is the IIO host feed's line format (samples sent to a
//!   device from the host).
//! * [`verdict`] is how a kernel under QEMU reports its tests' verdict
//!   through QEMU's exit status.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod alu;
pub mod feed;
pub mod hooks;
pub mod insn;
pub mod instruction;
pub mod opcode;
#[cfg(feature = "alloc")]
pub mod remote;
pub mod uapi;
pub mod verdict;

#[cfg(feature = "alloc")]
pub mod asm;
#[cfg(feature = "alloc")]
pub mod llvm;

pub use insn::Insn;
pub use instruction::{DecodeError, Instruction};
