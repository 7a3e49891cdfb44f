//! Axiom's BPF verifier (issue 5), built in steps.
//!
//! Present: [`tnum`], the known-bits algebra of scalar tracking.
//! Coming: bounds, register and stack state, per-class checks, helpers,
//! state pruning and Linux's log format; until then nothing in Axiom claims
//! to verify programs.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod bounds;
pub mod tnum;
