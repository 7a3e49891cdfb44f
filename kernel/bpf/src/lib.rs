//! Axiom's BPF runtime.
//!
//! Today it holds the platform side of the JIT: a JIT image is bytes
//! (`axiom_jit`); making them executable belongs here. With the `host`
//! feature, [`host::ExecImage`] places an image in a host process's memory:
//! written while mapped read+write, then mapped read+execute, never both.
//! Maps, helpers, program objects, the `bpf()` commands and hooks arrive
//! with issues 7, 9 and 10, behind a `Platform` trait so that the kernel and
//! a host process run the same code.
#![cfg_attr(not(any(test, feature = "host")), no_std)]
#![deny(unsafe_code)]

#[cfg(feature = "host")]
pub mod host;
#[cfg(feature = "host")]
mod raw;
