//! Axiom's BPF execution engines.
//!
//! [`interp`] is the reference interpreter: it defines what every eBPF
//! instruction does in Axiom, and every native backend (issue 4: x86_64,
//! issue 6: arm64) is tested against it. The native code generators arrive
//! with those issues; this crate produces bytes and never maps memory.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod aarch64;
pub mod constprop;
pub mod interp;
pub mod program;
pub mod x86_64;
