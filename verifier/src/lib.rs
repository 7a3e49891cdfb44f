//! Axiom's BPF verifier.
//!
//! Not built yet: it is issue 5 (control flow, tnum and bounds, register and
//! stack state, helpers, state pruning, Linux's log format). Until then this
//! crate holds its place in the workspace so that dependencies already point
//! the right way; nothing in Axiom claims to verify programs.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
