//! Axiom's BPF runtime: maps, helpers, program and map objects, the `bpf()`
//! commands and hook slots, behind a `Platform` trait so that the same code
//! runs in the kernel and in a host process.
//!
//! Not built yet: it arrives with the loader (issue 7), the `bpf()` system
//! call (issue 9) and the hooks (issue 10). The crate holds its place in the
//! workspace so that dependencies already point the right way.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
