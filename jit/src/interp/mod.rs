//! The reference interpreter.
//!
//! It runs raw instruction slots with Linux's semantics for every form of
//! RFC 9669 and ISA v4 (division by zero gives 0, modulo by zero leaves the
//! dividend, shift amounts are masked to the operand width, 32-bit results
//! are zero-extended, `MIN / -1` wraps), on a little-endian machine model.
//! It does not verify: it decodes each instruction as it reaches it, checks
//! every memory access against the stack or the [`Env`]'s memory, and stops
//! with a [`Fault`] instead of ever misbehaving. An instruction budget bounds
//! every run.
//!
//! The environment supplies memory outside the stack, helpers, `lddw`
//! pseudo values and tail-call targets through the [`Env`] trait;
//! [`HostEnv`] is a ready-made one made of byte regions and a helper table.

mod env;
mod exec;

pub use env::{HelperFn, HostEnv, Region};
pub use exec::{Interpreter, Outcome};

use axiom_abi::Insn;
use axiom_abi::instruction::{AtomicOp, DecodeError, Pseudo, Size};
use axiom_abi::uapi::limits::{MAX_BPF_STACK, MAX_CALL_FRAMES};
use core::fmt;

/// Virtual address of the lowest stack byte; frame `k` (0 = main) has its
/// frame pointer at `STACK_BASE + (MAX_CALL_FRAMES - k) * MAX_BPF_STACK`: one
/// frame of [`MAX_BPF_STACK`] bytes for each of [`MAX_CALL_FRAMES`].
pub const STACK_BASE: u64 = 0x0000_7f00_0000_0000;

/// Why a run stopped without a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The instruction at `pc` is not a valid encoding.
    Decode(DecodeError),
    /// Control reached a slot outside the program.
    PcOutOfRange {
        /// The slot index reached.
        pc: usize,
    },
    /// A memory access outside the stack and every region.
    OutOfBounds {
        /// Instruction index.
        pc: usize,
        /// Address accessed.
        addr: u64,
        /// Bytes accessed.
        len: usize,
        /// Whether it was a write.
        write: bool,
    },
    /// A write to the frame pointer `r10`.
    FramePointerWrite {
        /// Instruction index.
        pc: usize,
    },
    /// A call to a helper the environment does not provide.
    UnknownHelper {
        /// Instruction index.
        pc: usize,
        /// The helper id.
        id: i64,
    },
    /// A helper reported an error it cannot express as a return value.
    Helper {
        /// Instruction index.
        pc: usize,
        /// What went wrong.
        reason: &'static str,
    },
    /// More than [`MAX_CALL_FRAMES`] nested calls.
    CallDepth {
        /// Instruction index.
        pc: usize,
    },
    /// The instruction budget ran out.
    BudgetExhausted {
        /// Instructions executed.
        executed: u64,
    },
    /// The environment cannot give the value of this `lddw` pseudo form.
    Unresolved {
        /// Instruction index.
        pc: usize,
        /// The pseudo kind.
        kind: Pseudo,
    },
    /// A legacy packet load where the environment has no packet.
    NoPacket {
        /// Instruction index.
        pc: usize,
    },
    /// A kernel-function call, which needs the kernel's BTF.
    Kfunc {
        /// Instruction index.
        pc: usize,
    },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Decode(e) => write!(f, "{e}"),
            Fault::PcOutOfRange { pc } => write!(f, "jump out of range to insn {pc}"),
            Fault::OutOfBounds { pc, addr, len, write } => write!(
                f,
                "insn {pc}: invalid {} of {len} bytes at {addr:#x}",
                if *write { "write" } else { "read" }
            ),
            Fault::FramePointerWrite { pc } => write!(f, "insn {pc}: frame pointer is read only"),
            Fault::UnknownHelper { pc, id } => write!(f, "insn {pc}: unknown helper {id}"),
            Fault::Helper { pc, reason } => write!(f, "insn {pc}: helper failed: {reason}"),
            Fault::CallDepth { pc } => {
                write!(f, "insn {pc}: more than {MAX_CALL_FRAMES} nested call frames")
            }
            Fault::BudgetExhausted { executed } => {
                write!(f, "instruction budget exhausted after {executed} instructions")
            }
            Fault::Unresolved { pc, kind } => {
                write!(f, "insn {pc}: lddw {kind:?} has no value in this environment")
            }
            Fault::NoPacket { pc } => write!(f, "insn {pc}: legacy packet load without a packet"),
            Fault::Kfunc { pc } => write!(f, "insn {pc}: kfunc calls are not supported"),
        }
    }
}

impl core::error::Error for Fault {}

/// What a helper or memory access can fail with, before the interpreter
/// adds the instruction index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvError {
    /// No memory at this address and length.
    OutOfBounds,
    /// No such helper.
    UnknownHelper,
    /// A helper failed.
    Helper(&'static str),
    /// No value for this `lddw` form.
    Unresolved,
    /// No packet for a legacy packet load.
    NoPacket,
}

/// The stack memory of a run, which helpers may read and write (keys and
/// values passed by pointer usually live there).
pub struct Stack {
    bytes: alloc::vec::Vec<u8>,
}

impl Stack {
    fn new() -> Self {
        Self { bytes: alloc::vec![0; MAX_BPF_STACK * MAX_CALL_FRAMES] }
    }

    /// The frame pointer of call frame `depth` (0 = the main program).
    pub const fn frame_pointer(depth: usize) -> u64 {
        STACK_BASE + ((MAX_CALL_FRAMES - depth) * MAX_BPF_STACK) as u64
    }

    fn range(&self, addr: u64, len: usize) -> Option<core::ops::Range<usize>> {
        let start = usize::try_from(addr.checked_sub(STACK_BASE)?).ok()?;
        let end = start.checked_add(len)?;
        (end <= self.bytes.len()).then_some(start..end)
    }

    /// Whether `[addr, addr + len)` is all stack.
    pub fn contains(&self, addr: u64, len: usize) -> bool {
        self.range(addr, len).is_some()
    }

    /// The stack bytes at `[addr, addr + len)`, if all stack.
    pub fn get(&self, addr: u64, len: usize) -> Option<&[u8]> {
        self.range(addr, len).map(|r| &self.bytes[r])
    }

    /// The mutable stack bytes at `[addr, addr + len)`, if all stack.
    pub fn get_mut(&mut self, addr: u64, len: usize) -> Option<&mut [u8]> {
        self.range(addr, len).map(|r| &mut self.bytes[r])
    }
}

/// What the interpreter needs from the world around a program.
pub trait Env {
    /// A program handle (tail-call targets are programs too).
    type Prog: Clone + AsRef<[Insn]>;

    /// Reads `size` bytes (little endian) at `addr`, outside the stack.
    fn load(&mut self, addr: u64, size: Size) -> Result<u64, EnvError>;

    /// Writes the low `size` bytes of `value` (little endian) at `addr`.
    fn store(&mut self, addr: u64, size: Size, value: u64) -> Result<(), EnvError>;

    /// Atomically applies `op` to the `size`-byte value at `addr` and
    /// returns the old value; `operand` is the source register, `expected`
    /// is `r0` for `CmpXchg`. The default is a load and a store, which is
    /// atomic for a single-threaded environment.
    fn atomic(
        &mut self,
        addr: u64,
        size: Size,
        op: AtomicOp,
        operand: u64,
        expected: u64,
    ) -> Result<u64, EnvError> {
        let old = self.load(addr, size)?;
        if let Some(new) = atomic_result(op, size, old, operand, expected) {
            self.store(addr, size, new)?;
        }
        Ok(old)
    }

    /// Calls helper `id` with `r1`..`r5`; the stack is lent for pointer
    /// arguments that point into it.
    fn call_helper(&mut self, id: i32, args: [u64; 5], stack: &mut Stack) -> Result<u64, EnvError>;

    /// The value of a `lddw` whose `src` is not 0.
    fn resolve_lddw(&mut self, kind: Pseudo, imm: i32, next_imm: i32) -> Result<u64, EnvError> {
        let _ = (kind, imm, next_imm);
        Err(EnvError::Unresolved)
    }

    /// Slot `index` of the program array at address `map`, for
    /// `bpf_tail_call`.
    fn tail_call_target(&mut self, map: u64, index: u32) -> TailCallSlot<Self::Prog> {
        let _ = (map, index);
        TailCallSlot::OutOfRange
    }

    /// Reads `size` bytes at `offset` of the packet for the legacy
    /// `ldabs`/`ldind` loads (as stored, before the byte-order conversion);
    /// `Ok(None)` when the offset is outside the packet, which ends the
    /// program with `r0 = 0` as in Linux.
    fn load_packet(&mut self, offset: u64, size: Size) -> Result<Option<u64>, EnvError> {
        let _ = (offset, size);
        Err(EnvError::NoPacket)
    }
}

/// What a program array holds at an index.
#[derive(Clone, Debug)]
pub enum TailCallSlot<P> {
    /// The index is not below the array's `max_entries` (or there is no
    /// such array): the call falls through without counting.
    OutOfRange,
    /// The slot is empty: as in Linux, the call counts against the limit of
    /// 33, then falls through.
    Empty,
    /// The program to continue with.
    Prog(P),
}

/// The value an atomic operation stores, or `None` when it stores nothing
/// (a failed compare-and-exchange).
pub fn atomic_result(
    op: AtomicOp,
    size: Size,
    old: u64,
    operand: u64,
    expected: u64,
) -> Option<u64> {
    let mask = if size == Size::W { u32::MAX as u64 } else { u64::MAX };
    let new = match op {
        AtomicOp::Add { .. } => old.wrapping_add(operand),
        AtomicOp::Or { .. } => old | operand,
        AtomicOp::And { .. } => old & operand,
        AtomicOp::Xor { .. } => old ^ operand,
        AtomicOp::Xchg => operand,
        AtomicOp::CmpXchg => {
            if old & mask != expected & mask {
                return None;
            }
            operand
        }
    };
    Some(new & mask)
}

#[cfg(test)]
mod tests;
