//! The contexts of Axiom's own program types, the kernel's hooks
//! (`axiom_abi::hooks`): mostly read-only. The kernel's runtime puts them
//! together with the helpers hooks may call (`axiom_bpf::verify`); Linux
//! itself refuses their numbers.

use crate::platform::{CtxField, FieldKind};

const fn read_only(off: u32, size: u32) -> CtxField {
    CtxField { off, size, narrow: true, writable: false, kind: FieldKind::Scalar }
}

/// `struct axiom_tick_ctx`.
pub const TICK_CTX: &[CtxField] = &[
    read_only(0, 8),  // entry_ns
    read_only(8, 8),  // dispatch_ns
    read_only(16, 8), // tick
    read_only(24, 4), // cpu
    read_only(32, 8), // deadline_ns
];

/// `struct axiom_sched_ctx`: read-only but for `slice_ns`.
pub const SCHED_CTX: &[CtxField] = &[
    read_only(0, 4),  // op
    read_only(4, 4),  // cpu
    read_only(8, 4),  // task
    read_only(12, 4), // prev_cpu
    read_only(16, 4), // online
    read_only(20, 4), // runnable
    read_only(24, 4), // priority
    read_only(32, 8), // now_ns
    writable(40, 8),  // slice_ns
];

/// `struct axiom_irq_ctx`.
pub const IRQ_CTX: &[CtxField] = &[
    read_only(0, 4),  // line
    read_only(4, 4),  // cpu
    read_only(8, 8),  // entry_ns
    read_only(16, 8), // state
    read_only(24, 8), // count
];

const fn writable(off: u32, size: u32) -> CtxField {
    CtxField { off, size, narrow: false, writable: true, kind: FieldKind::Scalar }
}

/// `struct axiom_iio_ctx`: read-only but for the values.
pub const IIO_CTX: &[CtxField] = &[
    read_only(0, 4),  // device
    read_only(4, 4),  // channels
    read_only(8, 8),  // timestamp_ns
    read_only(16, 8), // seq
    writable(24, 4),  // values[0..4]
    writable(28, 4),
    writable(32, 4),
    writable(36, 4),
];
