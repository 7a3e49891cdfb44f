//! Axiom's own program types: the kernel's hooks (`axiom_abi::hooks`),
//! their read-only contexts and the helpers they may call. The platform
//! that describes Linux's program types ([`crate::linux::LinuxPlatform`])
//! offers these too; Linux itself refuses their numbers.

use crate::platform::{CtxField, FieldKind, ProgType};
use axiom_abi::hooks::prog_type;

const fn read_only(off: u32, size: u32) -> CtxField {
    CtxField { off, size, narrow: true, writable: false, kind: FieldKind::Scalar }
}

/// `struct axiom_tick_ctx`.
const TICK_CTX: &[CtxField] = &[
    read_only(0, 8),  // entry_ns
    read_only(8, 8),  // dispatch_ns
    read_only(16, 8), // tick
    read_only(24, 4), // cpu
    read_only(32, 8), // deadline_ns
];

/// `struct axiom_sched_ctx`: read-only but for `slice_ns`.
const SCHED_CTX: &[CtxField] = &[
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
const IRQ_CTX: &[CtxField] = &[
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
const IIO_CTX: &[CtxField] = &[
    read_only(0, 4),  // device
    read_only(4, 4),  // channels
    read_only(8, 8),  // timestamp_ns
    read_only(16, 8), // seq
    writable(24, 4),  // values[0..4]
    writable(28, 4),
    writable(32, 4),
    writable(36, 4),
];

/// What hook programs may call: map helpers (queues and stacks too), the
/// clock, random numbers, the CPU id and the ring buffer.
const HOOK_HELPERS: &[i32] = &[1, 2, 3, 5, 7, 8, 87, 88, 89, 125, 130, 131, 132, 133, 134];

/// Axiom's program types.
pub const PROG_TYPES: &[(u32, ProgType)] = &[
    (
        prog_type::AXIOM_TICK,
        ProgType {
            name: "axiom_tick",
            fields: TICK_CTX,
            helpers: HOOK_HELPERS,
            ld_abs: false,
            ret_range: None,
        },
    ),
    (
        prog_type::AXIOM_IRQ,
        ProgType {
            name: "axiom_irq",
            fields: IRQ_CTX,
            helpers: HOOK_HELPERS,
            ld_abs: false,
            ret_range: None,
        },
    ),
    (
        prog_type::AXIOM_IIO,
        ProgType {
            name: "axiom_iio",
            fields: IIO_CTX,
            helpers: HOOK_HELPERS,
            ld_abs: false,
            ret_range: None,
        },
    ),
    (
        prog_type::AXIOM_SCHED,
        ProgType {
            name: "axiom_sched",
            fields: SCHED_CTX,
            helpers: HOOK_HELPERS,
            ld_abs: false,
            ret_range: None,
        },
    ),
];
