//! Axiom's build tool as a library: the workspace's root, its `cargo` and
//! timed steps (`workspace`), set-up (`setup`), the host and
//! bare-metal builds (`steps`, `bare`), the guests' user programs and
//! initramfs (`user`), boots under QEMU and their verdicts (`qemu`), the
//! live guest steered from the host and its IIO feed (`remote`, `feed`),
//! the Raspberry Pi 5 boot files (`rpi5`). The `xtask` binary is its
//! command line; the benchmarks (`axiom-bench`) boot through it.
#![forbid(unsafe_code)]

pub mod bare;
pub mod feed;
pub mod qemu;
pub mod remote;
pub mod rpi5;
pub mod setup;
pub mod steps;
pub mod user;
pub mod workspace;
