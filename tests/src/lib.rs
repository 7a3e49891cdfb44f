//! Shared code of Axiom's cross-crate tests and reports: the conformance
//! corpus reader and runner, and the host Linux `bpf()` oracle.
#![deny(unsafe_code)]

pub mod bpfprogs;
pub mod conformance;
pub mod jit;
pub mod linux;
pub mod paths;
pub mod progen;
pub mod vcorpus;
