//! Axiom's BPF execution engines.
//!
//! [`interp`] is the reference interpreter: it defines what every eBPF
//! instruction does in Axiom, and every native backend ([`x86_64`],
//! [`aarch64`]) is tested against it. [`program`] is what the backends
//! share, [`constprop`] the constant facts they may use. This crate
//! produces bytes and never maps memory.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod aarch64;
pub mod constprop;
pub mod interp;
pub mod program;
pub mod x86_64;

/// The back end for the architecture this code is built for.
#[cfg(target_arch = "aarch64")]
pub use aarch64 as native;
/// The back end for the architecture this code is built for.
#[cfg(not(target_arch = "aarch64"))]
pub use x86_64 as native;
