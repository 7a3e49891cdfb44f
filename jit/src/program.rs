//! What every native backend shares: the runtime interface ([`JitEnv`]),
//! settings ([`JitOptions`]), errors, the compiled image, and the analysis
//! of a program before instruction selection ([`Program`]: decoding,
//! functions, jump targets, constant facts).

use crate::constprop::Facts;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::Insn;
use axiom_abi::instruction::{CallTarget, DecodeError, Instruction, Operand, Pseudo, Reg, decode};
use axiom_abi::uapi::helper;
use core::fmt;

/// Where a program array keeps its size and its entries, as the runtime
/// lays it out: `max_entries` is a `u32` and each entry a `u64` holding a
/// target image's tail-call entry address, or 0 for an empty slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailCallAbi {
    /// Byte offset of `max_entries` from the map pointer.
    pub max_entries_offset: i32,
    /// Byte offset of entry 0 from the map pointer.
    pub entries_offset: i32,
}

/// JIT settings.
#[derive(Clone, Copy, Debug)]
pub struct JitOptions {
    /// Constant blinding (Linux's `bpf_jit_harden`): every immediate is
    /// loaded as `imm ^ key` and decoded with `key` at run time, so no
    /// attacker-chosen constant appears in executable memory.
    pub blinding: bool,
    /// Seed of the blinding keys.
    pub blinding_seed: u64,
    /// Program array layout for `bpf_tail_call`.
    pub tail_calls: TailCallAbi,
    /// Call helpers through a register (`movabs r11, addr; call r11`)
    /// instead of `call rel32`, for images the platform cannot place within
    /// 2 GiB of the helpers (x86-64).
    pub far_helper_calls: bool,
    /// Use the ARMv8.1 LSE atomic instructions; without them atomics are
    /// load/store-exclusive loops (arm64). The runtime sets it from the
    /// CPU's features.
    pub aarch64_lse: bool,
}

impl Default for JitOptions {
    fn default() -> Self {
        Self {
            blinding: false,
            blinding_seed: 0x9e37_79b9_7f4a_7c15,
            tail_calls: TailCallAbi { max_entries_offset: 0, entries_offset: 8 },
            far_helper_calls: false,
            aarch64_lse: true,
        }
    }
}

impl JitOptions {
    /// The hardened configuration: constant blinding on (Linux's
    /// `bpf_jit_harden=2`, which blinds every program).
    pub fn hardened() -> Self {
        Self { blinding: true, ..Self::default() }
    }
}

/// What the JIT needs from the runtime.
pub trait JitEnv {
    /// The address of helper `id`, a function with the System V signature
    /// `extern "C" fn(u64, u64, u64, u64, u64) -> u64`.
    fn helper_address(&self, id: i32) -> Option<u64>;

    /// The value of a `lddw` pseudo form (a map's address, a map value's
    /// address...).
    fn resolve_lddw(&self, kind: Pseudo, imm: i32, next_imm: i32) -> Option<u64> {
        let _ = (kind, imm, next_imm);
        None
    }

    /// A table of helper addresses indexed by id (0 for none) and its
    /// length, for `callx`.
    fn helper_table(&self) -> Option<(u64, u32)> {
        None
    }
}

/// Why a program could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JitError {
    /// An invalid instruction.
    Decode(DecodeError),
    /// A jump or call whose target is outside its function or the program.
    BadTarget {
        /// Instruction index.
        pc: usize,
    },
    /// A helper the runtime does not provide.
    UnknownHelper {
        /// Instruction index.
        pc: usize,
        /// Helper id.
        id: i32,
    },
    /// A `lddw` pseudo form the runtime cannot resolve.
    Unresolved {
        /// Instruction index.
        pc: usize,
    },
    /// An instruction this backend does not compile.
    Unsupported {
        /// Instruction index.
        pc: usize,
        /// What it is.
        what: &'static str,
    },
    /// The jump passes did not converge (a JIT bug).
    NotConverged,
    /// A helper is more than 2 GiB away from where the image was placed.
    HelperOutOfReach {
        /// The helper's address.
        target: u64,
    },
    /// An empty program.
    Empty,
}

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JitError::Decode(e) => write!(f, "{e}"),
            JitError::BadTarget { pc } => write!(f, "insn {pc}: jump or call target out of range"),
            JitError::UnknownHelper { pc, id } => write!(f, "insn {pc}: unknown helper {id}"),
            JitError::Unresolved { pc } => write!(f, "insn {pc}: lddw pseudo value not resolved"),
            JitError::Unsupported { pc, what } => {
                write!(f, "insn {pc}: {what} is not supported by this JIT")
            }
            JitError::NotConverged => write!(f, "JIT jump passes did not converge"),
            JitError::HelperOutOfReach { target } => {
                write!(f, "helper at {target:#x} is out of rel32 reach of the image")
            }
            JitError::Empty => write!(f, "empty program"),
        }
    }
}

impl core::error::Error for JitError {}

/// A call site whose target is an absolute address, patched by
/// [`JitImage::link`] once the image's address is known (x86-64 `call
/// rel32`; the arm64 backend loads absolute addresses and needs none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Offset of the 4-byte displacement in the image.
    pub at: usize,
    /// Absolute target address.
    pub target: u64,
}

/// Compiled code, not yet placed in memory.
#[derive(Clone, Debug)]
pub struct JitImage {
    /// The machine code.
    pub code: Vec<u8>,
    /// Offset of the entry point the runtime calls as
    /// `extern "C" fn(ctx: u64, r2: u64) -> u64`.
    pub entry: usize,
    /// Offset of the main function, the entry for tail calls into this
    /// program.
    pub tail_call_entry: usize,
    /// Native offset of the code of each BPF instruction slot.
    pub insn_offsets: Vec<u32>,
    /// Call sites to patch when the image is placed.
    pub relocs: Vec<Reloc>,
    /// Number of passes the jump sizing took.
    pub passes: u32,
}

impl JitImage {
    /// Patches the helper call sites for an image placed at `base`.
    pub fn link(&mut self, base: u64) -> Result<(), JitError> {
        for r in &self.relocs {
            let next = base.wrapping_add(r.at as u64 + 4);
            let rel = r.target.wrapping_sub(next) as i64;
            let rel =
                i32::try_from(rel).map_err(|_| JitError::HelperOutOfReach { target: r.target })?;
            self.code[r.at..r.at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        Ok(())
    }
}

/// One BPF function (the main program or a bpf-to-bpf callee) as the
/// analysis sees it.
#[derive(Clone, Debug)]
pub struct FuncShape {
    /// First instruction slot.
    pub start: usize,
    /// One past the last slot.
    pub end: usize,
    /// Which BPF registers (`r0`..`r10`) it names.
    pub used: [bool; 11],
    /// Whether it calls helpers or functions.
    pub calls: bool,
}

/// A decoded, checked program, ready for instruction selection.
pub struct Program {
    /// The instruction at each slot (`None` for the second half of `lddw`).
    pub insns: Vec<Option<Instruction>>,
    /// Its functions, in order.
    pub funcs: Vec<FuncShape>,
    /// The function of each slot.
    pub func_of: Vec<usize>,
    /// Whether it makes tail calls.
    pub tail_calls: bool,
    /// Constants known at each instruction, decided jumps, dead code.
    pub facts: Facts,
}

impl Program {
    /// Decodes `slots`, splits them into functions (the targets of local
    /// calls) and checks that every jump stays in its function.
    pub fn analyse(slots: &[Insn]) -> Result<Program, JitError> {
        let n = slots.len();
        if n == 0 {
            return Err(JitError::Empty);
        }
        let mut insns = vec![None; n];
        let mut pc = 0;
        while pc < n {
            let (insn, len) = decode(slots, pc).map_err(JitError::Decode)?;
            insns[pc] = Some(insn);
            pc += len;
        }
        let target = |pc: usize, off: i64| -> Result<usize, JitError> {
            let t = pc as i64 + 1 + off;
            if t < 0 || t as usize >= n || insns[t as usize].is_none() {
                return Err(JitError::BadTarget { pc });
            }
            Ok(t as usize)
        };
        let mut starts = vec![0usize];
        let mut tail_calls = false;
        for (pc, i) in insns.iter().enumerate() {
            match i {
                Some(Instruction::Call(CallTarget::Local(off))) => {
                    starts.push(target(pc, *off as i64)?)
                }
                Some(Instruction::Call(CallTarget::Helper(helper::id::TAIL_CALL))) => {
                    tail_calls = true
                }
                _ => {}
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let mut func_of = vec![0; n];
        let mut funcs = Vec::new();
        for (f, &start) in starts.iter().enumerate() {
            let end = starts.get(f + 1).copied().unwrap_or(n);
            let (mut used, mut calls) = ([false; 11], false);
            for pc in start..end {
                func_of[pc] = f;
                let Some(i) = &insns[pc] else { continue };
                for r in regs_of(i).into_iter().flatten() {
                    used[r.idx()] = true;
                }
                if matches!(i, Instruction::Call(_) | Instruction::CallX { .. }) {
                    calls = true;
                }
                if let Some(off) = i.jump_offset() {
                    let t = target(pc, off as i64)?;
                    if !(start..end).contains(&t) {
                        return Err(JitError::BadTarget { pc });
                    }
                }
            }
            funcs.push(FuncShape { start, end, used, calls });
        }
        let facts = crate::constprop::analyse(&insns, &starts);
        Ok(Program { insns, funcs, func_of, tail_calls, facts })
    }
}

/// The BPF registers an instruction names.
fn regs_of(i: &Instruction) -> [Option<Reg>; 2] {
    let op = |o: &Operand| match o {
        Operand::Reg(r) => Some(*r),
        Operand::Imm(_) => None,
    };
    match i {
        Instruction::Alu { dst, src, .. } | Instruction::Jump { dst, src, .. } => {
            [Some(*dst), op(src)]
        }
        Instruction::Store { dst, src, .. } => [Some(*dst), op(src)],
        Instruction::MovSx { dst, src, .. }
        | Instruction::Load { dst, src, .. }
        | Instruction::Atomic { dst, src, .. } => [Some(*dst), Some(*src)],
        Instruction::Neg { dst, .. }
        | Instruction::Endian { dst, .. }
        | Instruction::LoadImm64 { dst, .. } => [Some(*dst), None],
        Instruction::CallX { reg } => [Some(*reg), None],
        _ => [None, None],
    }
}

/// For disassemblies: writes a `; insn i` line for each BPF slot whose
/// code starts at native offset `off` (slots that emitted nothing are
/// skipped), advancing `next` past the slots before `off`.
#[cfg(feature = "disasm")]
pub(crate) fn mark_insns(
    out: &mut alloc::string::String,
    offsets: &[u32],
    next: &mut usize,
    off: usize,
) {
    use core::fmt::Write;
    while *next < offsets.len() && offsets[*next] as usize <= off {
        let k = *next;
        if offsets[k] as usize == off && (k == 0 || offsets[k - 1] != offsets[k]) {
            let _ = writeln!(out, "; insn {k}");
        }
        *next += 1;
    }
}
