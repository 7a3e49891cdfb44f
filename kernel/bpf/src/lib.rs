//! Axiom's BPF runtime.
//!
//! Today it holds the platform side of the JIT: a JIT image is bytes
//! (`axiom_jit`); making them executable belongs here. With the `host`
//! feature, [`host::ExecImage`] places an image in a host process's memory:
//! written while mapped read+write, then mapped read+execute, never both.
//! [`maps`] are Linux's map kinds (no_std, shared with the kernel to come);
//! with `host`, [`helpers`] and [`runtime`] run programs in this process
//! (what `axbpf --backend axiom` uses). Program objects, the `bpf()`
//! commands and hooks arrive with issues 9 and 10.
#![cfg_attr(not(any(test, feature = "host")), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod command;
pub mod hook;
pub mod link;
pub mod maps;
pub mod native;
pub mod platform;
pub mod prog;
pub mod prog_array;
pub mod ring;

#[cfg(feature = "host")]
pub mod helpers;
#[cfg(feature = "host")]
pub mod host;
#[cfg(feature = "host")]
mod raw;
#[cfg(feature = "host")]
pub mod runtime;
