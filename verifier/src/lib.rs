//! Axiom's BPF verifier (issue 5), built in steps.
//!
//! [`verify`] explores every path through a program with abstract states
//! (scalars as [`tnum`] plus bounds in [`bounds`], pointers by kind in
//! [`state`]), checks every instruction on each, and refuses unsafe
//! programs with Linux's errno and message ([`error`], [`log`]). Program
//! types, contexts and helpers come from a [`platform::Platform`];
//! [`linux`] defines the ones Axiom shares with Linux.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod axiom;
pub mod bounds;
pub mod callgraph;
pub mod cfg;
pub mod check;
pub mod error;
pub mod linux;
pub mod log;
pub mod maps;
pub mod platform;
pub mod state;
pub mod tnum;

pub use check::{LineInfo, Options, Report, Verified, verify, verify_with_lines};
pub use error::VerifyError;
