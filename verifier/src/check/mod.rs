//! The state exploration: every path through the program is followed with
//! abstract register and stack states, every instruction checked on it.
//! Paths are explored depth first (branches last in, first out), and a
//! path is cut when a fully explored earlier state at the same prune point
//! covers its state.
//!
//! This file holds the verifier's state, the driver ([`verify`]: program
//! type, control flow, exploration, call-graph limits, the log's closing
//! line) and the dispatch of each instruction to the file that checks its
//! class. Each sibling adds an `impl Verifier` block for one concern:
//!
//! * `explore`: the depth-first walk, pruning, loop detection, Linux's
//!   complexity limits.
//! * `precision`: liveness and precision, which decide what pruning
//!   compares.
//! * `logging`: what the walk writes to the log.
//! * `alu`: arithmetic on scalars and pointers, `neg`, `movsx`, byte
//!   order.
//! * `ld_imm`: `lddw` constants and map references.
//! * `mem`: loads, stores and atomics through context, map value, packet
//!   and memory pointers; legacy packet loads.
//! * `stack`: stack accesses, spills and fills.
//! * `jmp`: conditional jumps: decided branches, refinement, NULL checks,
//!   packet ranges.
//! * `call`: bpf-to-bpf calls and exits.
//! * `helper`: helper calls against their prototypes.
//! * `kfunc`: kernel function calls.

mod alu;
mod call;
mod explore;
mod helper;
mod jmp;
mod kfunc;
mod ld_imm;
mod logging;
mod mem;
mod precision;
mod stack;

use crate::bounds::Scalar;
use crate::cfg::{Cfg, build_with};
use crate::error::{EACCES, EINVAL, ENOSPC, VerifyError};
use crate::log::Log;
use crate::platform::{MapInfo, Platform, ProgType};
use crate::state::{Frame, RegState, RegType, State};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::Insn;
use axiom_abi::instruction::{CallTarget, Instruction, Reg};
use axiom_abi::uapi::limits::BPF_COMPLEXITY_LIMIT_INSNS;
use explore::{Explored, Node};

/// Verification settings.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Linux's `log_level` (0, 1, 2).
    pub log_level: u32,
    /// Linux's `log_size` in bytes (0: no log).
    pub log_size: u32,
    /// Processed-instruction limit.
    pub max_insns: u64,
    /// Let reads of never-written stack give unknown values instead of
    /// refusing the program. Linux allows this to loaders with
    /// `CAP_PERFMON` (root); Axiom refuses by default.
    pub allow_uninit_stack: bool,
    /// The program came with BTF function info (Linux's `func_info`)
    /// whose functions return `int`. Linux refuses tail calls and legacy
    /// packet loads in functions other than the main one without it.
    /// Axiom's loaders pass no BTF yet (issue 23), so only tests set it,
    /// to check the limits that apply once they do.
    pub btf_func_info: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            log_level: 0,
            log_size: 0,
            max_insns: BPF_COMPLEXITY_LIMIT_INSNS as u64,
            allow_uninit_stack: false,
            btf_func_info: false,
        }
    }
}

/// What verification proved and counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// Instructions processed (Linux's figure).
    pub processed: u64,
    /// States stored at prune points.
    pub total_states: u32,
    /// Deepest stack use of each function, bytes.
    pub stack_depth: Vec<u32>,
    /// The instructions that load or store context fields, sorted: a
    /// runtime whose context layout differs from the program's view
    /// rewrites them (Linux's `convert_ctx_accesses`).
    pub ctx_accesses: Vec<usize>,
}

/// The outcome and the log text.
#[derive(Debug)]
pub struct Report {
    /// Accepted, or why not.
    pub result: Result<Verified, VerifyError>,
    /// The log.
    pub log: String,
}

/// Source line information for one instruction onwards (`.BTF.ext` line
/// info, as the loader passes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// The first instruction (slot index) the line covers.
    pub insn: usize,
    /// The source line's text.
    pub source: String,
    /// The source file name (empty if unknown).
    pub file: String,
    /// The line number.
    pub line: u32,
}

/// Verifies `slots` as a program of type `prog_type`.
pub fn verify(slots: &[Insn], prog_type: u32, platform: &dyn Platform, opts: &Options) -> Report {
    verify_with_lines(slots, prog_type, platform, opts, &[])
}

/// [`verify`], with line info (sorted by instruction) printed in the log
/// before the first instruction of each line, as Linux does:
/// `; source @ file:line`.
pub fn verify_with_lines(
    slots: &[Insn],
    prog_type: u32,
    platform: &dyn Platform,
    opts: &Options,
    lines: &[LineInfo],
) -> Report {
    let mut log = Log::new(opts.log_level, opts.log_size as usize);
    let mut stats = Stats::default();
    let result = run(slots, prog_type, platform, opts, lines, &mut log, &mut stats);
    match &result {
        Err(e) => log.line(&e.message),
        // A level-1 log keeps only a refused path: an accepted program's
        // log is its statistics alone, as in Linux.
        Ok(_) if opts.log_level == 1 => log.reset(0),
        Ok(_) => {}
    }
    // Linux closes every log, accepted or not, with its statistics.
    log.line(&format!(
        "processed {} insns (limit {}) max_states_per_insn {} total_states {} peak_states {} mark_read 0",
        stats.processed, opts.max_insns, stats.max_states, stats.total_states, stats.total_states
    ));
    // A log that outgrew its buffer fails the load with ENOSPC, whatever
    // the verdict (a refusal keeps its message).
    let result = match result {
        Err(mut e) => {
            if log.overflowed() {
                e.errno = ENOSPC;
            }
            Err(e)
        }
        Ok(v) if log.overflowed() => {
            drop(v);
            Err(VerifyError::new(ENOSPC, None, "log buffer too small".into()))
        }
        Ok(v) => Ok(v),
    };
    Report { result, log: log.into_text() }
}

/// The verification itself; [`verify_with_lines`] adds the log's end.
fn run(
    slots: &[Insn],
    prog_type: u32,
    platform: &dyn Platform,
    opts: &Options,
    lines: &[LineInfo],
    log: &mut Log,
    stats: &mut Stats,
) -> Result<Verified, VerifyError> {
    let Some(prog) = platform.prog_type(prog_type) else {
        return Err(VerifyError::new(
            EINVAL,
            None,
            format!("unsupported program type {prog_type}"),
        ));
    };
    // The maps the program names, each once, resolved after the functions
    // are checked and before reachability (where Linux resolves them).
    let mut maps = Vec::new();
    let cfg = build_with(slots, &mut |insns| crate::maps::resolve(insns, platform, &mut maps))?;
    // Without BTF for the program (Axiom's loaders pass none yet), Linux
    // refuses legacy packet loads and tail calls outside the main function.
    let subprogs = if opts.btf_func_info { 1 } else { cfg.subprogs.len() };
    for f in 1..subprogs {
        let body = (cfg.subprogs[f]..cfg.subprog_end(f)).filter_map(|pc| cfg.insns[pc]);
        let (mut ld_abs, mut tail_call) = (false, false);
        for insn in body {
            ld_abs |= matches!(insn, Instruction::LoadPacket { .. });
            tail_call |= matches!(
                insn,
                Instruction::Call(CallTarget::Helper(axiom_abi::uapi::helper::id::TAIL_CALL))
            );
        }
        let what = if ld_abs {
            "LD_ABS"
        } else if tail_call {
            "tail_call"
        } else {
            continue;
        };
        return Err(VerifyError::new(
            EINVAL,
            None,
            format!("{what} is not allowed in subprogs without BTF"),
        ));
    }
    let n = slots.len();
    let mut v = Verifier {
        slots,
        cfg,
        platform,
        prog,
        maps,
        log,
        next_id: 0,
        processed: 0,
        explored: (0..n).map(|_| Vec::new()).collect(),
        nodes: vec![Node::root()],
        depth: Vec::new(),
        max_insns: opts.max_insns,
        precise: vec![0; n],
        total_states: 0,
        allow_uninit_stack: opts.allow_uninit_stack,
        lines,
        last_line: None,
        prev_log_pos: 0,
        prev_insn_line: 0,
        ctx_accesses: Vec::new(),
        scratch_regs: 0x7ff,
        scratch_slots: u64::MAX,
    };
    v.depth = vec![0; v.cfg.subprogs.len()];
    let mut init = State { frames: vec![Frame::new(0, 0, 0)], refs: Vec::new() };
    init.frames[0].regs[1] = RegState::pointer(RegType::Ctx);
    if v.log.level >= 2 {
        v.log_preamble();
    }
    let explored = v.explore(init);
    stats.processed = v.processed;
    stats.total_states = v.total_states;
    stats.max_states = v.explored.iter().map(|e| e.len() as u32).max().unwrap_or(0);
    explored?;
    // Linux checks the static call graph only once every path passed.
    crate::callgraph::check(&v.cfg, &v.depth)?;
    let mut ctx_accesses = core::mem::take(&mut v.ctx_accesses);
    ctx_accesses.sort_unstable();
    ctx_accesses.dedup();
    Ok(Verified {
        processed: v.processed,
        total_states: v.total_states,
        stack_depth: v.depth,
        ctx_accesses,
    })
}

/// What the closing `processed N insns` line reports.
#[derive(Default)]
struct Stats {
    processed: u64,
    total_states: u32,
    max_states: u32,
}

/// What an instruction does to control flow.
enum Flow {
    Next,
    Goto(usize),
    /// Continue here; the other branch (state, target) is queued.
    Fork(State, usize),
    /// The path ends (program exit).
    End,
}

/// A check's result: Linux's errno and message on failure.
type VResult<T> = Result<T, VerifyError>;

/// The verifier of one program: what it knows of the program, the
/// exploration's bookkeeping, the log.
struct Verifier<'a> {
    slots: &'a [Insn],
    cfg: Cfg,
    platform: &'a dyn Platform,
    prog: &'a ProgType,
    /// The maps the program names, by `lddw` form and `imm` (at most
    /// `MAX_USED_MAPS`); a map pointer's number indexes
    /// this table.
    maps: Vec<(crate::maps::MapKey, MapInfo)>,
    log: &'a mut Log,
    /// Line info to print beside instructions, and the last one printed.
    lines: &'a [LineInfo],
    last_line: Option<usize>,
    /// Linux's log bookkeeping: where the last instruction line starts
    /// and ends, and what the instructions since the last annotation
    /// touched (registers, stack slots of the current frame).
    prev_log_pos: usize,
    prev_insn_line: usize,
    /// Instructions seen accessing the context.
    ctx_accesses: Vec<usize>,
    scratch_regs: u16,
    scratch_slots: u64,
    next_id: u32,
    processed: u64,
    explored: Vec<Vec<Explored>>,
    nodes: Vec<Node>,
    depth: Vec<u32>,
    max_insns: u64,
    /// Per instruction, the scalars some safety decision on a path through
    /// it depends on (only grows).
    precise: Vec<u16>,
    total_states: u32,
    allow_uninit_stack: bool,
}

/// An unsafe program (`EACCES`), refused at `pc`.
fn acc(pc: usize, m: String) -> VerifyError {
    VerifyError::new(EACCES, Some(pc), m)
}

/// A malformed program (`EINVAL`), refused at `pc`.
fn inval(pc: usize, m: String) -> VerifyError {
    VerifyError::new(EINVAL, Some(pc), m)
}

/// An unknown scalar of `bytes` bytes, zero-extended.
fn sized_unknown(bytes: usize) -> Scalar {
    if bytes >= 8 { Scalar::UNKNOWN } else { Scalar::unsigned_range(0, (1u64 << (bytes * 8)) - 1) }
}

impl Verifier<'_> {
    /// A fresh id for a pointer (NULL checks and packet ranges apply to
    /// every copy sharing it) or a reference.
    fn new_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// Register `r`, which must have been written.
    fn read(&self, st: &State, pc: usize, r: Reg) -> VResult<RegState> {
        let v = st.cur().regs[r.idx()];
        if v.ty == RegType::NotInit {
            return Err(acc(pc, format!("R{} !read_ok", r.num())));
        }
        Ok(v)
    }

    /// Writes register `r` (never the frame pointer).
    fn set(&self, st: &mut State, pc: usize, r: Reg, v: RegState) -> VResult<()> {
        if r == Reg::R10 {
            return Err(acc(pc, "frame pointer is read only".into()));
        }
        st.cur_mut().regs[r.idx()] = v;
        Ok(())
    }

    /// Checks one instruction on `st` and applies it; says where the path
    /// goes next.
    fn step(&mut self, st: &mut State, pc: usize, insn: Instruction) -> VResult<Flow> {
        // A jump's target: `off` slots after the next instruction.
        let target = |off: i64| (pc as i64 + 1 + off) as usize;
        match insn {
            Instruction::Alu { width, op, dst, src } => self.alu(st, pc, width, op, dst, src)?,
            Instruction::MovSx { width, dst, src, bits } => {
                let v = alu::movsx(width, bits, self.read(st, pc, src)?);
                self.set(st, pc, dst, RegState::scalar(v))?;
            }
            Instruction::Neg { width, dst } => {
                let v = alu::neg(width, self.read(st, pc, dst)?);
                self.set(st, pc, dst, RegState::scalar(v))?;
            }
            Instruction::Endian { op, dst, bits } => {
                let v = alu::endian(op, bits, self.read(st, pc, dst)?);
                self.set(st, pc, dst, RegState::scalar(v))?;
            }
            Instruction::LoadImm64 { dst, kind, imm, next_imm } => {
                let v = self.ld_imm64(pc, kind, imm, next_imm)?;
                self.set(st, pc, dst, v)?;
            }
            Instruction::LoadPacket { mode, size, .. } => self.load_packet(st, pc, mode, size)?,
            Instruction::Load { size, signed, dst, src, off } => {
                self.load(st, pc, size, signed, dst, src, off)?
            }
            Instruction::Store { size, dst, off, src } => {
                self.store(st, pc, size, dst, off, src)?
            }
            Instruction::Atomic { size, op, dst, src, off } => {
                self.atomic(st, pc, size, op, dst, src, off)?
            }
            Instruction::Ja { off } => return Ok(Flow::Goto(target(off as i64))),
            Instruction::Gotol { imm } => return Ok(Flow::Goto(target(imm as i64))),
            Instruction::Jump { width, cond, dst, src, off } => {
                return self.jump(st, pc, width, cond, dst, src, target(off as i64));
            }
            Instruction::Call(CallTarget::Local(rel)) => {
                return self.call_local(st, pc, target(rel as i64));
            }
            Instruction::Call(CallTarget::Helper(id)) => self.call_helper(st, pc, id)?,
            Instruction::Call(CallTarget::Kfunc { btf_id, module }) => {
                self.call_kfunc(st, pc, btf_id, module)?
            }
            Instruction::CallX { .. } => {
                return Err(inval(pc, format!("unknown opcode {:02x}", self.slots[pc].code)));
            }
            Instruction::Exit => return self.exit(st, pc),
        }
        Ok(Flow::Next)
    }
}
