//! The state exploration: every path through the program is followed with
//! abstract register and stack states, every instruction checked on it.
//! Paths are explored depth first (branches last in, first out), and a
//! path is cut when a fully explored earlier state at the same prune point
//! covers its state.

use crate::bounds::{Scalar, branch_taken, refine};
use crate::cfg::{Cfg, build_with};
use crate::error::{E2BIG, EACCES, EINVAL, ENOSPC, VerifyError};
use crate::log::{Log, alu_op_name, annotation_padding, insn_text, state_text};
use crate::platform::{Arg, CtxField, FieldKind, HelperProto, MapInfo, Platform, ProgType, Ret};
use crate::state::{
    ByteKind, Frame, MAX_FRAMES, Ref, RegState, RegType, STACK_SIZE, Slot, State, subsumes,
};
use crate::tnum::Tnum;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::Insn;
use axiom_abi::instruction::{
    AluOp, AtomicOp, CallTarget, Cond, EndianOp, Instruction, Operand, PacketMode, Pseudo, Reg,
    Width,
};

/// Linux's limit on processed instructions.
pub const COMPLEXITY_LIMIT: u64 = 1_000_000;
/// States kept per prune point. Each is compared with every new state
/// there, so this bounds the cost of a visit; 64 keeps wide programs fast
/// while loops of bounded length still find their earlier iterations.
const MAX_STATES_PER_INSN: usize = 64;
/// Linux's `BPF_COMPLEXITY_LIMIT_JMP_SEQ`: branches queued at once.
pub const MAX_PENDING_BRANCHES: usize = 8192;
/// Linux's `MAX_PACKET_OFF`: no packet range is learnt beyond it.
const MAX_PACKET_OFF: u64 = 0xffff;
/// Largest variable offset Linux allows on a pointer (`BPF_MAX_VAR_OFF`).
const MAX_VAR_OFF: i64 = 1 << 29;
/// `BPF_MAP_TYPE_ARRAY` and `PERCPU_ARRAY`: direct value access.
const PROG_ARRAY: u32 = 3;
const RINGBUF: u32 = 27;

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
            max_insns: COMPLEXITY_LIMIT,
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
            tail_call |= matches!(insn, Instruction::Call(CallTarget::Helper(12)));
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
        nodes: vec![Node { parent: None, branches: 1 }],
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

struct Node {
    parent: Option<usize>,
    branches: u32,
}

struct Explored {
    state: State,
    node: usize,
    /// Later visits this state covered, and did not.
    hits: u32,
    misses: u32,
}

struct Path {
    state: State,
    pc: usize,
    node: usize,
    /// Instructions and jumps since this path last stored a state.
    insns_since: u32,
    jumps_since: u32,
    /// The branch it was queued at, and the log's end then (a level-1
    /// log forgets a finished path's instructions, as Linux's does).
    from: usize,
    log_pos: usize,
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

type VResult<T> = Result<T, VerifyError>;

struct Verifier<'a> {
    slots: &'a [Insn],
    cfg: Cfg,
    platform: &'a dyn Platform,
    prog: &'a ProgType,
    /// The maps the program names, by `lddw` form and `imm` (at most
    /// [`crate::maps::MAX_USED_MAPS`]); a map pointer's number indexes
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

fn acc(pc: usize, m: String) -> VerifyError {
    VerifyError::new(EACCES, Some(pc), m)
}

fn inval(pc: usize, m: String) -> VerifyError {
    VerifyError::new(EINVAL, Some(pc), m)
}

/// The registers an instruction reads or writes, which Linux shows after
/// it in the log.
fn scratched_regs(insn: &Instruction) -> u16 {
    let bit = |r: Reg| 1u16 << r.num();
    let src = |o: &Operand| if let Operand::Reg(r) = o { bit(*r) } else { 0 };
    match insn {
        Instruction::Alu { dst, src: s, .. } => bit(*dst) | src(s),
        Instruction::MovSx { dst, src: s, .. } => bit(*dst) | bit(*s),
        Instruction::Neg { dst, .. } | Instruction::Endian { dst, .. } => bit(*dst),
        Instruction::LoadImm64 { dst, .. } => bit(*dst),
        Instruction::Load { dst, src: s, .. } => bit(*dst) | bit(*s),
        Instruction::Store { dst, src: s, .. } => bit(*dst) | src(s),
        Instruction::Atomic { dst, src: s, op, .. } => {
            bit(*dst) | bit(*s) | if *op == AtomicOp::CmpXchg { 1 } else { 0 }
        }
        Instruction::Jump { dst, src: s, .. } => bit(*dst) | src(s),
        Instruction::Call(_) | Instruction::LoadPacket { .. } => 0x3f,
        _ => 0,
    }
}

/// Whether Linux computes the result's range of `op` (its
/// `is_safe_to_compute_dst_reg_range`): not for divisions and remainders,
/// even of constants, nor for shifts by an amount not known to be below
/// the width. Where it does not, the result is any 64-bit value, at either
/// width; Axiom follows so that it accepts no program Linux refuses.
fn linux_tracks_range(op: AluOp, bits: i32, src: &Scalar) -> bool {
    match op {
        AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => false,
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
            let amount = if bits == 32 { src.as_const32().map(u64::from) } else { src.as_const() };
            amount.is_some_and(|s| s < bits as u64)
        }
        _ => true,
    }
}

/// An unknown scalar of `bytes` bytes, zero-extended.
fn sized_unknown(bytes: usize) -> Scalar {
    if bytes >= 8 { Scalar::UNKNOWN } else { Scalar::unsigned_range(0, (1u64 << (bytes * 8)) - 1) }
}

impl Verifier<'_> {
    fn new_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    /// Liveness masks of each frame of `st` at `pc`.
    fn live_masks(&self, st: &State, pc: usize) -> Vec<u16> {
        let k = st.frames.len();
        (0..k)
            .map(|i| {
                if i + 1 == k {
                    self.cfg.live_in[pc]
                } else {
                    // A caller resumes at its return address with r0..r5
                    // overwritten.
                    let ret = st.frames[i + 1].return_pc;
                    self.cfg.live_in.get(ret).copied().unwrap_or(0) & !0x3f
                }
            })
            .collect()
    }

    /// Precision masks of each frame of `st` at `pc`.
    fn precise_masks(&self, st: &State, pc: usize) -> Vec<u16> {
        let k = st.frames.len();
        (0..k)
            .map(|i| {
                if i + 1 == k {
                    self.precise[pc]
                } else {
                    let ret = st.frames[i + 1].return_pc;
                    self.precise.get(ret).copied().unwrap_or(u16::MAX)
                }
            })
            .collect()
    }

    /// Records that the values of `regs` at `pc` decide safety, and so
    /// do the values they were computed from, at every instruction that
    /// can lead to `pc` (a static, conservative form of Linux's precision
    /// backtracking: it may mark more registers than Linux, never fewer).
    fn mark_precise(&mut self, pc: usize, regs: u16) {
        let mut work = vec![(pc, regs & 0x3ff)];
        while let Some((p, set)) = work.pop() {
            let new = set & !self.precise[p];
            if new == 0 {
                continue;
            }
            self.precise[p] |= new;
            let f = self.cfg.subprog_of(p);
            if self.cfg.subprogs[f] == p {
                // Arguments come from the callers.
                for &site in &self.cfg.call_sites[f] {
                    work.push((site, new & 0x3e));
                }
            }
            for k in 0..self.cfg.preds[p].len() {
                let q = self.cfg.preds[p][k];
                let Some(insn) = self.cfg.insns[q] else { continue };
                let need = match insn {
                    Instruction::Call(CallTarget::Local(rel)) if new & 1 != 0 => {
                        // r0 comes from the callee's exits.
                        let t = (q as i64 + 1 + rel as i64) as usize;
                        let g = self.cfg.subprog_of(t);
                        let (s, e) = (self.cfg.subprogs[g], self.cfg.subprog_end(g));
                        for x in s..e {
                            if matches!(self.cfg.insns[x], Some(Instruction::Exit)) {
                                work.push((x, 1));
                            }
                        }
                        needed_before(&insn, new & !1)
                    }
                    _ => needed_before(&insn, new),
                };
                work.push((q, need));
            }
        }
    }

    /// Linux's level-2 preamble: each function's start, then the registers
    /// live before each instruction (`0: .1........ (61) r2 = ...`).
    fn log_preamble(&mut self) {
        for (k, start) in self.cfg.subprogs.iter().enumerate() {
            self.log.line(&format!("func#{k} @{start}"));
        }
        self.log.line("Live regs before insn:");
        for pc in 0..self.slots.len() {
            let Some(insn) = self.cfg.insns[pc] else { continue };
            let live = self.cfg.live_in[pc];
            let mask: String = (0..10)
                .map(|r| if live & (1 << r) != 0 { char::from(b'0' + r) } else { '.' })
                .collect();
            let name = match insn {
                Instruction::Call(CallTarget::Helper(id)) => {
                    self.platform.helper(id).map(|p| p.name)
                }
                _ => None,
            };
            let text = insn_text(pc, self.slots, &insn, name);
            let body = text.split_once(": ").map_or(text.as_str(), |(_, b)| b);
            self.log.line(&format!("{pc:>7}: {mask} {body}"));
        }
    }

    /// Prints the source line covering `pc` if it is not the last printed.
    fn log_line_info(&mut self, pc: usize) {
        let k = self.lines.partition_point(|l| l.insn <= pc);
        if k == 0 || self.last_line == Some(k - 1) {
            return;
        }
        self.last_line = Some(k - 1);
        let l = &self.lines[k - 1];
        let text = if l.file.is_empty() {
            format!("; {}", l.source.trim_start())
        } else {
            format!("; {} @ {}:{}", l.source.trim_start(), l.file, l.line)
        };
        self.log.line(&text);
    }

    /// Ends a path: its node and every ancestor it completes.
    fn path_done(&mut self, mut node: usize) {
        loop {
            let n = &mut self.nodes[node];
            n.branches -= 1;
            if n.branches > 0 {
                return;
            }
            match n.parent {
                Some(p) => node = p,
                None => return,
            }
        }
    }

    /// At a prune point: cut the path if a finished state covers it, refuse
    /// it if it repeats an unfinished ancestor exactly (an infinite loop),
    /// else remember it.
    fn visit(&mut self, path: &mut Path) -> VResult<bool> {
        let pc = path.pc;
        let live = self.live_masks(&path.state, pc);
        let precise = self.precise_masks(&path.state, pc);
        let mut k = 0;
        while k < self.explored[pc].len() {
            let e = &mut self.explored[pc][k];
            if self.nodes[e.node].branches == 0 {
                if subsumes(&e.state, &path.state, &live, &precise) {
                    e.hits += 1;
                    return Ok(true);
                }
            } else if exact_match(&e.state, &path.state, &live) {
                return Err(inval(pc, format!("infinite loop detected at insn {pc}")));
            }
            // Linux's eviction: a state that keeps failing to cover later
            // visits is dropped (an unfinished one only stops being
            // compared), which keeps long loops linear in time and memory.
            e.misses += 1;
            if e.misses > e.hits * 3 + 3 {
                self.explored[pc].remove(k);
            } else {
                k += 1;
            }
        }
        // Like Linux, store a new state only when the path has moved on
        // since its last one (two jumps and eight instructions), or the
        // list at this instruction is empty.
        if !self.explored[pc].is_empty() && (path.jumps_since < 2 || path.insns_since < 8) {
            return Ok(false);
        }
        path.jumps_since = 0;
        path.insns_since = 0;
        let node = self.nodes.len();
        self.nodes.push(Node { parent: Some(path.node), branches: 1 });
        path.node = node;
        // Bounded memory and comparison time: past the cap, forget the
        // oldest finished state (only pruning chances are lost; states of
        // the current path stay for loop detection).
        let list = &mut self.explored[pc];
        if list.len() >= MAX_STATES_PER_INSN
            && let Some(k) = list.iter().position(|e| self.nodes[e.node].branches == 0)
        {
            list.remove(k);
        }
        list.push(Explored { state: path.state.clone(), node, hits: 0, misses: 0 });
        self.total_states += 1;
        Ok(false)
    }

    fn explore(&mut self, init: State) -> VResult<()> {
        let mut work = vec![Path {
            state: init,
            pc: 0,
            node: 0,
            insns_since: 0,
            jumps_since: 0,
            from: 0,
            log_pos: 0,
        }];
        let mut first = true;
        while let Some(mut path) = work.pop() {
            // Linux's `do_print_state`: the first instruction of a queued
            // branch shows where it came from.
            let mut popped = !first;
            first = false;
            if popped && self.log.level >= 1 {
                if self.log.level == 1 {
                    self.log.reset(path.log_pos);
                }
                self.scratch_regs = 0x7ff;
                self.scratch_slots = u64::MAX;
            }
            loop {
                if self.processed >= self.max_insns {
                    return Err(VerifyError::new(
                        E2BIG,
                        Some(path.pc),
                        format!("BPF program is too large. Processed {} insn", self.processed + 1),
                    ));
                }
                if self.cfg.prune[path.pc] && self.visit(&mut path)? {
                    if self.log.level >= 1 {
                        let line = if popped {
                            format!("\nfrom {} to {}: safe", path.from, path.pc)
                        } else {
                            format!("{}: safe", path.pc)
                        };
                        self.log.line(&line);
                    }
                    self.path_done(path.node);
                    break;
                }
                self.processed += 1;
                path.insns_since += 1;
                let pc = path.pc;
                let Some(insn) = self.cfg.insns[pc] else {
                    return Err(inval(pc, format!("invalid insn idx {pc}")));
                };
                if self.log.level >= 1 {
                    self.log_insn(&path, pc, &insn, popped);
                }
                popped = false;
                let flow = self.step(&mut path.state, pc, insn)?;
                if self.log.level >= 1 {
                    self.scratch_regs |= scratched_regs(&insn);
                }
                match flow {
                    Flow::Next => path.pc = pc + insn.len(),
                    Flow::Goto(t) => {
                        path.jumps_since += 1;
                        path.pc = t;
                    }
                    Flow::Fork(other, target) => {
                        self.nodes[path.node].branches += 1;
                        work.push(Path {
                            state: other,
                            pc: target,
                            node: path.node,
                            insns_since: path.insns_since,
                            jumps_since: path.jumps_since + 1,
                            from: pc,
                            log_pos: self.log.pos(),
                        });
                        // Linux's bound on branches waiting to be explored
                        // (E2BIG, as the host's Linux 6.18.44
                        // answers; older kernels said EFAULT).
                        if work.len() > MAX_PENDING_BRANCHES {
                            return Err(VerifyError::new(
                                E2BIG,
                                Some(pc),
                                format!("The sequence of {} jumps is too complex.", work.len()),
                            ));
                        }
                        path.jumps_since += 1;
                        path.pc = pc + 1;
                    }
                    Flow::End => {
                        self.path_done(path.node);
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Logs instruction `pc` as Linux does: at level 2 a queued branch's
    /// origin and state first; the registers and stack slots the previous
    /// instructions touched, appended to the previous instruction's line
    /// (`; R0=1`); the source line; the instruction itself.
    fn log_insn(&mut self, path: &Path, pc: usize, insn: &Instruction, popped: bool) {
        if popped && self.log.level >= 2 {
            let all = state_text(&path.state, 0x7ff, u64::MAX);
            self.log.line(&format!("\nfrom {} to {pc}:{all}", path.from));
        }
        if self.scratch_regs != 0 || self.scratch_slots != 0 {
            if self.prev_log_pos != 0 && self.prev_log_pos == self.log.pos() {
                self.log.reset(self.prev_log_pos - 1);
                let pad = annotation_padding(self.prev_insn_line);
                self.log.write(&format!("{:pad$};", ""));
            } else {
                self.log.write(&format!("{pc}:"));
            }
            let text = state_text(&path.state, self.scratch_regs, self.scratch_slots);
            self.log.line(&text);
            self.scratch_regs = 0;
            self.scratch_slots = 0;
        }
        self.log_line_info(pc);
        let name = match insn {
            Instruction::Call(CallTarget::Helper(id)) => self.platform.helper(*id).map(|p| p.name),
            _ => None,
        };
        let start = self.log.pos();
        self.log.line(&insn_text(pc, self.slots, insn, name));
        self.prev_insn_line = self.log.pos() - start;
        self.prev_log_pos = self.log.pos();
    }

    fn read(&self, st: &State, pc: usize, r: Reg) -> VResult<RegState> {
        let v = st.cur().regs[r.idx()];
        if v.ty == RegType::NotInit {
            return Err(acc(pc, format!("R{} !read_ok", r.num())));
        }
        Ok(v)
    }

    fn set(&self, st: &mut State, pc: usize, r: Reg, v: RegState) -> VResult<()> {
        if r == Reg::R10 {
            return Err(acc(pc, "frame pointer is read only".into()));
        }
        st.cur_mut().regs[r.idx()] = v;
        Ok(())
    }

    fn step(&mut self, st: &mut State, pc: usize, insn: Instruction) -> VResult<Flow> {
        match insn {
            Instruction::Alu { width, op, dst, src } => self.alu(st, pc, width, op, dst, src)?,
            Instruction::MovSx { width, dst, src, bits } => {
                let s = self.read(st, pc, src)?;
                let v = if s.ty == RegType::Scalar {
                    let r = Scalar::sext(bits as u32, &s.var);
                    if width == Width::W32 { r.zext32() } else { r }
                } else {
                    Scalar::UNKNOWN
                };
                self.set(st, pc, dst, RegState::scalar(v))?;
            }
            Instruction::Neg { width, dst } => {
                let d = self.read(st, pc, dst)?;
                // As Linux computes it: `0 - dst`, with the subtraction's bounds.
                let v = if d.ty == RegType::Scalar {
                    Scalar::constant(0).alu(width, AluOp::Sub, d.var)
                } else {
                    Scalar::UNKNOWN
                };
                self.set(st, pc, dst, RegState::scalar(v))?;
            }
            Instruction::Endian { op, dst, bits } => {
                let d = self.read(st, pc, dst)?;
                let v = match (d.ty, op) {
                    // Little endian on a little-endian machine: a truncation.
                    (RegType::Scalar, EndianOp::ToLe) if bits == 64 => d.var,
                    (RegType::Scalar, EndianOp::ToLe) => {
                        sized_unknown(bits as usize / 8).alu(Width::W64, AluOp::And, d.var)
                    }
                    // A byte swap moves known bits with their bytes.
                    (RegType::Scalar, _) => Scalar::from_tnum(d.var.var_off.bswap(bits as u32)),
                    _ if bits < 64 => sized_unknown(bits as usize / 8),
                    _ => Scalar::UNKNOWN,
                };
                self.set(st, pc, dst, RegState::scalar(v))?;
            }
            Instruction::LoadImm64 { dst, kind, imm, next_imm } => {
                let v = self.ld_imm64(pc, kind, imm, next_imm)?;
                self.set(st, pc, dst, v)?;
            }
            Instruction::LoadPacket { mode, size, .. } => {
                if !self.prog.ld_abs {
                    return Err(inval(
                        pc,
                        "BPF_LD_[ABS|IND] instructions not allowed for this program type".into(),
                    ));
                }
                if st.cur().regs[6].ty != RegType::Ctx {
                    return Err(inval(
                        pc,
                        "at the time of BPF_LD_ABS|IND R6 != pointer to skb".into(),
                    ));
                }
                if !st.refs.is_empty() {
                    return Err(inval(
                        pc,
                        "BPF_LD_[ABS|IND] cannot be mixed with socket references".into(),
                    ));
                }
                if let PacketMode::Ind(r) = mode {
                    self.read(st, pc, r)?;
                }
                let f = st.cur_mut();
                for r in 1..=5 {
                    f.regs[r] = RegState::NOT_INIT;
                }
                f.regs[0] = RegState::scalar(sized_unknown(size.bytes()));
            }
            Instruction::Load { size, signed, dst, src, off } => {
                let base = self.read(st, pc, src)?.ty;
                let mut v = self.mem_access(st, pc, src, off, size.bytes(), Access::Read)?;
                if signed && base == RegType::Ctx && v.ty != RegType::Scalar {
                    // Pointer fields cannot be sign-extended.
                    return Err(acc(
                        pc,
                        format!("invalid bpf_context access off={off} size={}", size.bytes()),
                    ));
                }
                if signed && v.ty == RegType::Scalar {
                    v = RegState::scalar(Scalar::sext(size.bytes() as u32 * 8, &v.var));
                }
                self.set(st, pc, dst, v)?;
            }
            Instruction::Store { size, dst, off, src } => {
                let value = match src {
                    Operand::Reg(r) => self.read(st, pc, r)?,
                    Operand::Imm(i) => RegState::scalar(Scalar::constant(i as i64 as u64)),
                };
                self.mem_access(st, pc, dst, off, size.bytes(), Access::Write(value))?;
            }
            Instruction::Atomic { size, op, dst, src, off } => {
                let v = self.read(st, pc, src)?;
                if op == AtomicOp::CmpXchg {
                    self.read(st, pc, Reg::R0)?;
                }
                let base = self.read(st, pc, dst)?;
                if !matches!(
                    base.ty,
                    RegType::Stack { .. } | RegType::MapValue { .. } | RegType::Mem { .. }
                ) {
                    return Err(acc(
                        pc,
                        format!(
                            "BPF_ATOMIC stores into R{} {} is not allowed",
                            dst.num(),
                            base.ty.linux_name()
                        ),
                    ));
                }
                // Atomics are always aligned (Linux checks them strictly
                // even where plain accesses need not be).
                let desc = match base.ty {
                    RegType::MapValue { .. } => "value ",
                    RegType::Mem { .. } => "",
                    _ => "stack ",
                };
                let at =
                    base.var.var_off.add(Tnum::constant((base.off as i64 + off as i64) as u64));
                if !at.is_aligned(size.bytes() as u64) {
                    return Err(acc(
                        pc,
                        format!(
                            "misaligned {desc}access off {}+{}+{off} size {}",
                            tnum_text(base.var.var_off),
                            base.off,
                            size.bytes()
                        ),
                    ));
                }
                let old = self.mem_access(st, pc, dst, off, size.bytes(), Access::Read)?;
                let stored = if v.ty == RegType::Scalar {
                    RegState::scalar(sized_unknown(size.bytes()))
                } else {
                    v
                };
                self.mem_access(st, pc, dst, off, size.bytes(), Access::Write(stored))?;
                let fetched = RegState::scalar(if old.ty == RegType::Scalar {
                    sized_unknown(size.bytes())
                } else {
                    Scalar::UNKNOWN
                });
                match op {
                    AtomicOp::CmpXchg => self.set(st, pc, Reg::R0, fetched)?,
                    op if op.fetches() => self.set(st, pc, src, fetched)?,
                    _ => {}
                }
            }
            Instruction::Ja { off } => {
                return Ok(Flow::Goto((pc as i64 + 1 + off as i64) as usize));
            }
            Instruction::Gotol { imm } => {
                return Ok(Flow::Goto((pc as i64 + 1 + imm as i64) as usize));
            }
            Instruction::Jump { width, cond, dst, src, off } => {
                return self.jump(
                    st,
                    pc,
                    width,
                    cond,
                    dst,
                    src,
                    (pc as i64 + 1 + off as i64) as usize,
                );
            }
            Instruction::Call(CallTarget::Local(rel)) => {
                let target = (pc as i64 + 1 + rel as i64) as usize;
                return self.call_local(st, pc, target);
            }
            Instruction::Call(CallTarget::Helper(id)) => self.call_helper(st, pc, id)?,
            Instruction::Call(CallTarget::Kfunc { .. }) => {
                return Err(inval(
                    pc,
                    "kernel function calls are not supported by Axiom yet".into(),
                ));
            }
            Instruction::CallX { .. } => {
                return Err(inval(pc, format!("unknown opcode {:02x}", self.slots[pc].code)));
            }
            Instruction::Exit => return self.exit(st, pc),
        }
        Ok(Flow::Next)
    }

    fn ld_imm64(&mut self, pc: usize, kind: Pseudo, imm: i32, next_imm: i32) -> VResult<RegState> {
        // Every map was resolved (and its direct value checked) before the
        // exploration: the same map is the same number however often it
        // is named.
        let map = |this: &mut Self, by_index: bool| -> VResult<u16> {
            match this.maps.iter().position(|(k, _)| *k == (by_index, imm)) {
                Some(m) => Ok(m as u16),
                None => Err(crate::maps::bad_map(pc, imm, by_index)),
            }
        };
        match kind {
            Pseudo::Imm64 => {
                Ok(RegState::scalar(Scalar::constant(Instruction::imm64(imm, next_imm))))
            }
            Pseudo::MapFd | Pseudo::MapIdx => {
                let m = map(self, kind == Pseudo::MapIdx)?;
                Ok(RegState::pointer(RegType::MapPtr { map: m }))
            }
            Pseudo::MapValue | Pseudo::MapIdxValue => {
                let m = map(self, kind == Pseudo::MapIdxValue)?;
                Ok(RegState { off: next_imm, ..RegState::pointer(RegType::MapValue { map: m }) })
            }
            Pseudo::Func | Pseudo::BtfId => {
                Err(inval(pc, format!("lddw {kind:?} is not supported by Axiom yet")))
            }
        }
    }

    fn alu(
        &mut self,
        st: &mut State,
        pc: usize,
        width: Width,
        op: AluOp,
        dst: Reg,
        src: Operand,
    ) -> VResult<()> {
        let bits = if width == Width::W64 { 64 } else { 32 };
        let b = match src {
            Operand::Reg(r) => self.read(st, pc, r)?,
            Operand::Imm(i) => {
                if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && (i < 0 || i >= bits) {
                    return Err(inval(pc, format!("invalid shift {i}")));
                }
                if matches!(op, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod) && i == 0 {
                    return Err(inval(pc, "div by zero".into()));
                }
                let v = if width == Width::W64 { i as i64 as u64 } else { i as u32 as u64 };
                RegState::scalar(Scalar::constant(v))
            }
        };
        if op == AluOp::Mov {
            let v = if width == Width::W64 {
                b
            } else if b.ty == RegType::Scalar {
                RegState::scalar(b.var.zext32())
            } else {
                // A partial copy of a pointer is a number.
                RegState::scalar(Scalar::UNKNOWN.zext32())
            };
            return self.set(st, pc, dst, v);
        }
        let a = self.read(st, pc, dst)?;
        if dst == Reg::R10 {
            return Err(acc(pc, "frame pointer is read only".into()));
        }
        let result = if a.ty == RegType::Scalar && b.ty == RegType::Scalar {
            RegState::scalar(if linux_tracks_range(op, bits, &b.var) {
                a.var.alu(width, op, b.var)
            } else {
                Scalar::UNKNOWN
            })
        } else {
            // A scalar added to a pointer decides which memory it reaches.
            if a.ty == RegType::Scalar {
                self.mark_precise(pc, 1 << dst.num());
            } else if let (RegType::Scalar, Operand::Reg(s)) = (b.ty, src) {
                self.mark_precise(pc, 1 << s.num());
            }
            self.pointer_alu(pc, width, op, dst, a, b)?
        };
        self.set(st, pc, dst, result)
    }

    fn pointer_alu(
        &mut self,
        pc: usize,
        width: Width,
        op: AluOp,
        dst: Reg,
        a: RegState,
        b: RegState,
    ) -> VResult<RegState> {
        let d = dst.num();
        if width == Width::W32 {
            if op == AluOp::Sub {
                return Ok(RegState::scalar(Scalar::UNKNOWN.zext32()));
            }
            return Err(acc(pc, format!("R{d} 32-bit pointer arithmetic prohibited")));
        }
        if a.ty.is_pointer() && b.ty.is_pointer() {
            if op == AluOp::Sub {
                return Ok(RegState::scalar(Scalar::UNKNOWN));
            }
            return Err(acc(pc, format!("R{d} pointer {} pointer prohibited", alu_op_name(op))));
        }
        let (ptr, off) = if a.ty.is_pointer() { (a, b) } else { (b, a) };
        if !a.ty.is_pointer() && op != AluOp::Add {
            if op == AluOp::Sub {
                return Err(acc(pc, format!("R{d} tried to subtract pointer from scalar")));
            }
            return Err(acc(
                pc,
                format!("R{d} pointer arithmetic with {} operator prohibited", alu_op_name(op)),
            ));
        }
        match ptr.ty {
            RegType::MapValueOrNull { .. } | RegType::MemOrNull { .. } => {
                return Err(acc(
                    pc,
                    format!(
                        "R{d} pointer arithmetic on {} prohibited, null-check it first",
                        ptr.ty.linux_name()
                    ),
                ));
            }
            RegType::PacketEnd | RegType::MapPtr { .. } => {
                return Err(acc(
                    pc,
                    format!("R{d} pointer arithmetic on {} prohibited", ptr.ty.linux_name()),
                ));
            }
            _ => {}
        }
        match op {
            AluOp::Add => {}
            // Linux keeps frame pointers to additions (JITs may not cope).
            AluOp::Sub if matches!(ptr.ty, RegType::Stack { .. }) => {
                return Err(acc(pc, format!("R{d} subtraction from stack pointer prohibited")));
            }
            AluOp::Sub => {}
            AluOp::And | AluOp::Or | AluOp::Xor => {
                return Err(acc(
                    pc,
                    format!("R{d} bitwise operator {} on pointer prohibited", alu_op_name(op)),
                ));
            }
            _ => {
                return Err(acc(
                    pc,
                    format!("R{d} pointer arithmetic with {} operator prohibited", alu_op_name(op)),
                ));
            }
        }
        let s = off.var;
        let tyname = ptr.ty.linux_name();
        // Linux's `check_reg_sane_offset`: offsets it cannot reason about
        // make the program malformed (EINVAL), not unsafe.
        if let Some(c) = s.as_const() {
            let c = c as i64;
            if !(-MAX_VAR_OFF..MAX_VAR_OFF).contains(&c) {
                return Err(inval(
                    pc,
                    format!("math between {tyname} pointer and {c} is not allowed"),
                ));
            }
            let new_off = if op == AluOp::Add { ptr.off as i64 + c } else { ptr.off as i64 - c };
            if !(-MAX_VAR_OFF..MAX_VAR_OFF).contains(&new_off) {
                return Err(inval(pc, format!("{tyname} pointer offset {new_off} is not allowed")));
            }
            return Ok(RegState { off: new_off as i32, ..ptr });
        }
        if s.smin == i64::MIN {
            return Err(inval(
                pc,
                format!(
                    "math between {tyname} pointer and register with unbounded min value is not allowed"
                ),
            ));
        }
        if s.smin <= -MAX_VAR_OFF || s.smin >= MAX_VAR_OFF {
            return Err(inval(
                pc,
                format!("value {} makes {tyname} pointer be out of bounds", s.smin),
            ));
        }
        let var = ptr.var.alu(Width::W64, op, s);
        let mut out = RegState { var, ..ptr };
        if matches!(ptr.ty, RegType::Packet | RegType::PacketMeta) {
            // A new variable offset: bounds checks on the old pointer no
            // longer apply.
            out.id = self.new_id();
            out.range = 0;
        }
        Ok(out)
    }

    /// Checks a load or store through `base + off`; returns the loaded
    /// value (for writes, the unchanged value).
    fn mem_access(
        &mut self,
        st: &mut State,
        pc: usize,
        base: Reg,
        off: i16,
        size: usize,
        access: Access,
    ) -> VResult<RegState> {
        let reg = self.read(st, pc, base)?;
        let r = base.num();
        let off = off as i64;
        let write = matches!(access, Access::Write(_));
        match reg.ty {
            RegType::Stack { frame } => {
                let fixed = reg.off as i64 + off;
                // Stack accesses are always aligned (Linux's strict check).
                if !reg.var.var_off.add(Tnum::constant(fixed as u64)).is_aligned(size as u64) {
                    return Err(acc(
                        pc,
                        format!(
                            "misaligned stack access off {}+{}+{off} size {size}",
                            tnum_text(reg.var.var_off),
                            reg.off
                        ),
                    ));
                }
                if frame as usize >= st.frames.len() {
                    // Ruled out by the checks below and at exits; refused
                    // rather than trusted.
                    return Err(acc(pc, format!("R{r} points into a returned frame")));
                }
                if let Access::Write(v) = access {
                    if v.ty.is_pointer() && size != 8 {
                        return Err(acc(pc, "invalid size of register spill".into()));
                    }
                    if matches!(v.ty, RegType::Stack { .. })
                        && frame as usize + 1 != st.frames.len()
                    {
                        return Err(inval(
                            pc,
                            "cannot spill pointers to stack into stack frame of the caller".into(),
                        ));
                    }
                }
                let Some(c) = reg.var.as_const() else {
                    return self.stack_var_access(st, pc, r, frame, &reg, fixed, size, access);
                };
                let total = fixed + c as i64;
                if total < -(STACK_SIZE as i64) || total + size as i64 > 0 {
                    return Err(acc(
                        pc,
                        if write {
                            format!("invalid write to stack R{r} off={total} size={size}")
                        } else {
                            format!("invalid read from stack R{r} off={total} size={size}")
                        },
                    ));
                }
                self.note_stack_depth(st, frame, total);
                if self.log.level >= 1 && frame as usize + 1 == st.frames.len() {
                    self.scratch_slots |= 1 << ((-total - 1) / 8);
                }
                let f = &mut st.frames[frame as usize];
                match access {
                    Access::Write(v) => {
                        stack_write(f, total, size, v);
                        Ok(v)
                    }
                    Access::Read => {
                        stack_read(f, total, size, self.allow_uninit_stack).map_err(|e| match e {
                            StackReadError::Uninit(i) => acc(
                                pc,
                                format!("invalid read from stack R{r} off {total}+{i} size {size}"),
                            ),
                            StackReadError::FillSize => {
                                acc(pc, "invalid size of register fill".into())
                            }
                        })
                    }
                }
            }
            RegType::Ctx => {
                if self.ctx_accesses.last() != Some(&pc) {
                    self.ctx_accesses.push(pc);
                }
                if reg.off < 0 {
                    return Err(acc(
                        pc,
                        format!("negative offset ctx ptr R{r} off={} disallowed", reg.off),
                    ));
                }
                if reg.off != 0 {
                    return Err(acc(
                        pc,
                        format!("dereference of modified ctx ptr R{r} off={} disallowed", reg.off),
                    ));
                }
                if reg.var.as_const() != Some(0) {
                    return Err(acc(
                        pc,
                        format!(
                            "variable ctx access var_off={} disallowed",
                            tnum_text(reg.var.var_off)
                        ),
                    ));
                }
                let field = ctx_field(self.prog, off, size, write).ok_or_else(|| {
                    acc(pc, format!("invalid bpf_context access off={off} size={size}"))
                })?;
                // Pointers may be stored in writable fields, as Linux lets
                // privileged programs do.
                if let Access::Write(v) = access {
                    return Ok(v);
                }
                Ok(match field.kind {
                    FieldKind::Scalar => RegState::scalar(sized_unknown(size)),
                    FieldKind::PacketData => RegState::pointer(RegType::Packet),
                    FieldKind::PacketEnd => RegState::pointer(RegType::PacketEnd),
                    FieldKind::PacketMeta => RegState::pointer(RegType::PacketMeta),
                })
            }
            RegType::MapValue { map } => {
                let info = self.maps[map as usize].1;
                if write && info.read_only {
                    return Err(acc(
                        pc,
                        format!(
                            "write into map forbidden, value_size={} off={} size={size}",
                            info.value_size,
                            reg.off as i64 + off
                        ),
                    ));
                }
                let base_off = reg.off as i64 + off;
                self.bounded_access(pc, r, &reg, base_off, size, info.value_size as i64, |o| {
                    format!(
                        "invalid access to map value, value_size={} off={o} size={size}",
                        info.value_size
                    )
                })?;
                Ok(match access {
                    Access::Write(v) => v,
                    Access::Read => RegState::scalar(sized_unknown(size)),
                })
            }
            RegType::Packet | RegType::PacketMeta => {
                // The range was learnt for pointers sharing this one's
                // variable part: only the fixed offset counts against it.
                if reg.var.smin < 0 {
                    return Err(acc(
                        pc,
                        format!(
                            "R{r} min value is negative, either use unsigned index or do a if (index >=0) check."
                        ),
                    ));
                }
                let o = reg.off as i64 + off;
                if o < 0 || o + size as i64 > reg.range as i64 {
                    let (id, range) = (reg.id, reg.range);
                    self.log.line(&format!(
                        "invalid access to packet, off={o} size={size}, R{r}(id={id},off={o},r={range})"
                    ));
                    return Err(acc(pc, format!("R{r} offset is outside of the packet")));
                }
                Ok(match access {
                    Access::Write(v) => v,
                    Access::Read => RegState::scalar(sized_unknown(size)),
                })
            }
            RegType::Mem { size: mem_size } => {
                let base_off = reg.off as i64 + off;
                self.bounded_access(pc, r, &reg, base_off, size, mem_size as i64, |o| {
                    format!("invalid access to memory, mem_size={mem_size} off={o} size={size}")
                })?;
                Ok(match access {
                    Access::Write(v) => v,
                    Access::Read => RegState::scalar(sized_unknown(size)),
                })
            }
            ty => Err(acc(pc, format!("R{r} invalid mem access '{}'", ty.linux_name()))),
        }
    }

    /// `[off + var, off + var + size)` within `[0, limit)`.
    #[allow(clippy::too_many_arguments)]
    fn bounded_access(
        &mut self,
        pc: usize,
        r: u8,
        reg: &RegState,
        off: i64,
        size: usize,
        limit: i64,
        msg: impl Fn(i64) -> String,
    ) -> VResult<()> {
        let var = &reg.var;
        if var.smin < 0 && (var.smin == i64::MIN || off + var.smin < 0) {
            return Err(acc(
                pc,
                format!(
                    "R{r} min value is negative, either use unsigned index or do a if (index >=0) check."
                ),
            ));
        }
        // Linux logs the access, then names the bound that broke it (and,
        // for packets, adds its own last line).
        let packet = matches!(reg.ty, RegType::Packet | RegType::PacketMeta);
        let fail = |this: &mut Self, at: i64, which: &str| {
            this.log.line(&msg(at));
            if packet {
                this.log
                    .line(&format!("R{r} {which} value is outside of the allowed memory range"));
                return acc(pc, format!("R{r} offset is outside of the packet"));
            }
            acc(pc, format!("R{r} {which} value is outside of the allowed memory range"))
        };
        let lo = off + var.smin.max(0);
        if lo < 0 || lo + size as i64 > limit {
            return Err(fail(self, lo, "min"));
        }
        if var.umax >= MAX_VAR_OFF as u64 {
            return Err(acc(
                pc,
                format!("R{r} unbounded memory access, make sure to bounds check any such access"),
            ));
        }
        let hi = off + var.umax as i64;
        if hi + size as i64 > limit {
            return Err(fail(self, hi, "max"));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn jump(
        &mut self,
        st: &mut State,
        pc: usize,
        width: Width,
        cond: Cond,
        dst: Reg,
        src: Operand,
        target: usize,
    ) -> VResult<Flow> {
        let a = self.read(st, pc, dst)?;
        let (b, src_reg) = match src {
            Operand::Reg(r) => (self.read(st, pc, r)?, Some(r)),
            Operand::Imm(i) => {
                let v = if width == Width::W64 { i as i64 as u64 } else { i as u32 as u64 };
                (RegState::scalar(Scalar::constant(v)), None)
            }
        };
        if a.ty == RegType::Scalar && b.ty == RegType::Scalar {
            let decided = branch_taken(width, cond, &a.var, &b.var);
            if decided.is_some() {
                // The path taken depends on these values.
                let bits = 1u16 << dst.num() | src_reg.map_or(0, |r| 1u16 << r.num());
                self.mark_precise(pc, bits);
            }
            match decided {
                Some(true) => return Ok(Flow::Goto(target)),
                Some(false) => return Ok(Flow::Next),
                None => {}
            }
            let mut taken = st.clone();
            let (mut ta, mut tb) = (a.var, b.var);
            refine(width, cond, true, &mut ta, &mut tb);
            let (mut fa, mut fb) = (a.var, b.var);
            refine(width, cond, false, &mut fa, &mut fb);
            let taken_ok = !ta.is_empty() && !tb.is_empty();
            let fall_ok = !fa.is_empty() && !fb.is_empty();
            taken.cur_mut().regs[dst.idx()].var = ta;
            st.cur_mut().regs[dst.idx()].var = fa;
            if let Some(s) = src_reg {
                taken.cur_mut().regs[s.idx()].var = tb;
                st.cur_mut().regs[s.idx()].var = fb;
            }
            return Ok(match (taken_ok, fall_ok) {
                (true, true) => Flow::Fork(taken, target),
                (true, false) => {
                    *st = taken;
                    Flow::Goto(target)
                }
                _ => Flow::Next,
            });
        }
        // NULL checks of `*_or_null` pointers.
        let null_cmp = width == Width::W64 && matches!(cond, Cond::Eq | Cond::Ne);
        if null_cmp
            && matches!(a.ty, RegType::MapValueOrNull { .. } | RegType::MemOrNull { .. })
            && b.is_zero()
        {
            let mut taken = st.clone();
            let (null_state, ptr_state) =
                if cond == Cond::Eq { (&mut taken, &mut *st) } else { (&mut *st, &mut taken) };
            mark_null(null_state, a.id, true);
            mark_null(ptr_state, a.id, false);
            return Ok(Flow::Fork(taken, target));
        }
        // Packet bounds checks.
        if width == Width::W64 {
            // `data` against `data_end`, or `data_meta` against `data`
            // itself (Linux learns nothing from other pairs).
            let pkt_end = |p: &RegState, e: &RegState| match p.ty {
                RegType::Packet => e.ty == RegType::PacketEnd,
                RegType::PacketMeta => {
                    e.ty == RegType::Packet && e.off == 0 && e.var.as_const() == Some(0)
                }
                _ => false,
            };
            // (packet register, the branch where `pkt <= end`/`pkt < end`
            // holds (true = taken), strict)
            let rule = if pkt_end(&a, &b) {
                match cond {
                    Cond::Gt => Some((a, false, false)),
                    Cond::Ge => Some((a, false, true)),
                    Cond::Lt => Some((a, true, true)),
                    Cond::Le => Some((a, true, false)),
                    _ => None,
                }
            } else if pkt_end(&b, &a) {
                match cond {
                    Cond::Gt => Some((b, true, true)),
                    Cond::Ge => Some((b, true, false)),
                    Cond::Lt => Some((b, false, false)),
                    Cond::Le => Some((b, false, true)),
                    _ => None,
                }
            } else {
                None
            };
            if let Some((p, in_taken, strict)) = rule {
                let mut taken = st.clone();
                // Linux's limits: no range from a pointer before the start or
                // possibly beyond MAX_PACKET_OFF.
                let within = p.off >= 0
                    && p.var.umax <= MAX_PACKET_OFF
                    && p.var.umax + p.off as u64 <= MAX_PACKET_OFF;
                if within && (p.var.as_const().is_some() || p.id != 0) {
                    let new_range = (p.off as i64 + strict as i64).max(0) as u32;
                    let s = if in_taken { &mut taken } else { &mut *st };
                    mark_pkt_range(s, &p, new_range);
                }
                return Ok(Flow::Fork(taken, target));
            }
        }
        // Other pointer comparisons: both ways, nothing learnt.
        Ok(Flow::Fork(st.clone(), target))
    }

    fn call_local(&mut self, st: &mut State, pc: usize, target: usize) -> VResult<Flow> {
        if st.frames.len() >= MAX_FRAMES {
            return Err(VerifyError::new(
                E2BIG,
                Some(pc),
                format!("the call stack of {} frames is too deep", st.frames.len() + 1),
            ));
        }
        let mut frame = Frame::new(st.frames.len() as u8, target, pc + 1);
        let regs = st.cur().regs;
        frame.regs[1..=5].copy_from_slice(&regs[1..=5]);
        st.frames.push(frame);
        Ok(Flow::Goto(target))
    }

    fn exit(&mut self, st: &mut State, pc: usize) -> VResult<Flow> {
        let r0 = self.read(st, pc, Reg::R0)?;
        if st.frames.len() > 1 {
            if let RegType::Stack { .. } = r0.ty {
                return Err(inval(pc, "cannot return stack pointer to the caller".into()));
            }
            let callee = st.frames.pop().expect("more than one frame");
            let f = st.cur_mut();
            f.regs[0] = r0;
            for r in 1..=5 {
                f.regs[r] = RegState::NOT_INIT;
            }
            return Ok(Flow::Goto(callee.return_pc));
        }
        if let Some(r) = st.refs.first() {
            let detail = format!("Unreleased reference id={} alloc_insn={}", r.id, r.insn);
            self.log.line(&detail);
            return Err(inval(
                pc,
                "BPF_EXIT instruction in main prog would lead to reference leak".into(),
            ));
        }
        if let Some((lo, hi)) = self.prog.ret_range {
            self.mark_precise(pc, 1);
            let ok = r0.ty == RegType::Scalar && r0.var.smin >= lo && r0.var.smax <= hi;
            if !ok {
                return Err(inval(
                    pc,
                    format!(
                        "At program exit the register R0 has {r0} should have been in [{lo}, {hi}]"
                    ),
                ));
            }
        }
        Ok(Flow::End)
    }

    fn call_helper(&mut self, st: &mut State, pc: usize, id: i32) -> VResult<()> {
        let Some(proto) = self.platform.helper(id).copied() else {
            return Err(inval(pc, format!("invalid func unknown#{id}")));
        };
        if !self.prog.helpers.contains(&id) {
            return Err(inval(
                pc,
                format!("program of this type cannot use helper {}#{id}", proto.name),
            ));
        }
        let mut map: Option<MapInfo> = None;
        let mut alloc_size = 0u32;
        let mut release: Option<u32> = None;
        let regs = st.cur().regs;
        for (i, arg) in proto.args.iter().enumerate() {
            let Some(arg) = *arg else { break };
            let rn = Reg::new(i as u8 + 1).expect("argument registers are r1..r5");
            let reg = self.read(st, pc, rn)?;
            let r = rn.num();
            let expect =
                |want: &str| acc(pc, format!("R{r} type={} expected={want}", reg.ty.linux_name()));
            match arg {
                Arg::Anything => {}
                Arg::MapPtr => {
                    let RegType::MapPtr { map: m } = reg.ty else { return Err(expect("map_ptr")) };
                    map = Some(self.maps[m as usize].1);
                }
                Arg::MapKey | Arg::MapValue | Arg::MapValueUninit => {
                    let info =
                        map.ok_or_else(|| inval(pc, "invalid map_ptr to access map->key".into()))?;
                    let size = if arg == Arg::MapKey { info.key_size } else { info.value_size };
                    if size == 0 {
                        return Err(acc(pc, "invalid zero-sized read".into()));
                    }
                    self.helper_mem(st, pc, rn, &reg, size as usize, arg == Arg::MapValueUninit)?;
                }
                Arg::Mem | Arg::UninitMem => {
                    let size_reg = regs[i + 2];
                    if size_reg.ty != RegType::Scalar {
                        return Err(acc(
                            pc,
                            format!("R{} type={} expected=scalar", r + 1, size_reg.ty.linux_name()),
                        ));
                    }
                    let s = size_reg.var;
                    if s.smin < 0 {
                        return Err(acc(
                            pc,
                            format!(
                                "R{} min value is negative, either use unsigned or 'var &= const'",
                                r + 1
                            ),
                        ));
                    }
                    let zero_ok =
                        proto.args.get(i + 1).copied().flatten() == Some(Arg::ConstSizeOrZero);
                    if s.umin == 0 && !zero_ok {
                        return Err(acc(
                            pc,
                            format!(
                                "R{} invalid zero-sized read: u64=[{},{}]",
                                r + 1,
                                s.umin,
                                s.umax
                            ),
                        ));
                    }
                    if s.umax >= MAX_VAR_OFF as u64 {
                        return Err(acc(
                            pc,
                            format!(
                                "R{} unbounded memory access, use 'var &= const' or 'if (var < const)'",
                                r + 1
                            ),
                        ));
                    }
                    self.mark_precise(pc, 1 << (r + 1));
                    if s.umax > 0 {
                        self.helper_mem(st, pc, rn, &reg, s.umax as usize, arg == Arg::UninitMem)?;
                    }
                }
                Arg::ConstSize | Arg::ConstSizeOrZero => {}
                Arg::Ctx => {
                    if reg.ty != RegType::Ctx || reg.off != 0 {
                        return Err(expect("ctx"));
                    }
                }
                Arg::RingbufMem => {
                    let RegType::Mem { .. } = reg.ty else { return Err(expect("ringbuf_mem")) };
                    if reg.ref_id == 0 {
                        return Err(expect("ringbuf_mem"));
                    }
                    // A record is released by its start alone: a moved
                    // pointer would make the helper trust the program's
                    // data as the record's header (CVE-2021-4204).
                    if reg.off != 0 {
                        return Err(inval(
                            pc,
                            format!(
                                "R{r} must have zero offset when passed to release func or trusted arg to kfunc"
                            ),
                        ));
                    }
                    if reg.var.as_const() != Some(0) {
                        let t = reg.var.var_off;
                        return Err(acc(
                            pc,
                            format!(
                                "variable {} access var_off=({:#x}; {:#x}) disallowed",
                                reg.ty.linux_name(),
                                t.value,
                                t.mask
                            ),
                        ));
                    }
                    release = Some(reg.ref_id);
                }
                Arg::ConstAlloc => {
                    let Some(c) = (reg.ty == RegType::Scalar).then(|| reg.var.as_const()).flatten()
                    else {
                        return Err(acc(pc, format!("R{r} is not a known constant'")));
                    };
                    alloc_size = c as u32;
                    self.mark_precise(pc, 1 << r);
                }
            }
        }
        // Map compatibility is checked after the arguments, as in Linux.
        if let Some(info) = map {
            let allowed = if proto.map_types.is_empty() {
                !matches!(info.map_type, PROG_ARRAY | RINGBUF)
            } else {
                proto.map_types.contains(&info.map_type)
            };
            if !allowed {
                if id == crate::HELPER_TAIL_CALL {
                    return Err(inval(pc, "expected prog array map for tail call".into()));
                }
                return Err(inval(
                    pc,
                    format!("cannot pass map_type {} into func {}#{id}", info.map_type, proto.name),
                ));
            }
        }
        if id == crate::HELPER_TAIL_CALL && !st.refs.is_empty() {
            return Err(inval(pc, "tail_call would lead to reference leak".into()));
        }
        if let Some(ref_id) = release {
            st.refs.retain(|r| r.id != ref_id);
            for f in st.frames.iter_mut() {
                for reg in f.regs.iter_mut() {
                    if reg.ref_id == ref_id {
                        *reg = RegState::scalar(Scalar::UNKNOWN);
                    }
                }
                for slot in f.stack.iter_mut() {
                    if slot.spill.ref_id == ref_id {
                        slot.spill = RegState::scalar(Scalar::UNKNOWN);
                    }
                }
            }
        }
        let r0 = match proto.ret {
            Ret::Integer => RegState::scalar(Scalar::UNKNOWN),
            // Linux leaves r0 unreadable after a helper that returns nothing.
            Ret::Void => RegState::NOT_INIT,
            Ret::CpuId => RegState::scalar(match self.platform.possible_cpus() {
                Some(n) if n > 0 => Scalar::unsigned_range(0, u64::from(n) - 1),
                _ => Scalar::UNKNOWN,
            }),
            Ret::MapValueOrNull => {
                let m = self.maps.len().saturating_sub(1) as u16;
                // The map is the one passed in r1: find its number.
                let m = match st.cur().regs[1].ty {
                    RegType::MapPtr { map } => map,
                    _ => m,
                };
                RegState {
                    id: self.new_id(),
                    ..RegState::pointer(RegType::MapValueOrNull { map: m })
                }
            }
            Ret::AllocMemOrNull => {
                let id = self.new_id();
                st.refs.push(Ref { id, insn: pc });
                RegState {
                    id,
                    ref_id: id,
                    ..RegState::pointer(RegType::MemOrNull { size: alloc_size })
                }
            }
        };
        let f = st.cur_mut();
        f.regs[0] = r0;
        for r in 1..=5 {
            f.regs[r] = RegState::NOT_INIT;
        }
        let _ = proto_name(&proto);
        Ok(())
    }

    /// A helper reads (or, `uninit`, writes) `size` bytes at register `rn`.
    fn helper_mem(
        &mut self,
        st: &mut State,
        pc: usize,
        rn: Reg,
        reg: &RegState,
        size: usize,
        uninit: bool,
    ) -> VResult<()> {
        let r = rn.num();
        match reg.ty {
            RegType::Stack { frame } => {
                let Some(c) = reg.var.as_const() else {
                    // Linux lets a helper reach a variable stack range only
                    // to read it, never as memory it fills.
                    let (lo, hi) = self.stack_var_bounds(
                        pc,
                        r,
                        reg,
                        reg.off as i64,
                        size,
                        if uninit { " write to" } else { " read from" },
                    )?;
                    self.note_stack_depth(st, frame, lo);
                    let f = &mut st.frames[frame as usize];
                    for o in lo..hi {
                        let (si, b) = locate(o);
                        let slot = f.slot_mut(si);
                        if uninit {
                            // The helper may write any of these bytes.
                            if slot.bytes[b] == ByteKind::Spill {
                                scrub_spill(slot);
                            }
                            if slot.bytes[b] == ByteKind::Zero {
                                slot.bytes[b] = ByteKind::Misc;
                            }
                        }
                        if !self.allow_uninit_stack && slot.bytes[b] == ByteKind::Invalid {
                            return Err(acc(
                                pc,
                                format!(
                                    "invalid indirect read from stack R{r} var_off {}+{} size {size}",
                                    tnum_text(reg.var.var_off),
                                    reg.off
                                ),
                            ));
                        }
                    }
                    return Ok(());
                };
                let start = reg.off as i64 + c as i64;
                let what = if uninit { "write to" } else { "read from" };
                let message = format!("invalid {what} stack R{r} off={start} size={size}");
                if start < -(STACK_SIZE as i64) {
                    return Err(acc(pc, message));
                }
                if start + size as i64 > 0 {
                    return Err(inval(pc, message));
                }
                let f = &mut st.frames[frame as usize];
                let fi = self.cfg.subprog_of(f.subprog);
                self.depth[fi] = self.depth[fi].max((-start) as u32);
                for o in start..start + size as i64 {
                    let (slot, byte) = locate(o);
                    if uninit {
                        let s = f.slot_mut(slot);
                        if s.bytes[byte] == ByteKind::Spill {
                            let spill = s.spill;
                            for b in s.bytes.iter_mut() {
                                if *b == ByteKind::Spill {
                                    *b = ByteKind::Misc;
                                }
                            }
                            let _ = spill;
                        }
                        s.bytes[byte] = ByteKind::Misc;
                    } else if !self.allow_uninit_stack
                        && f.slot(slot).bytes[byte] == ByteKind::Invalid
                    {
                        return Err(acc(
                            pc,
                            format!(
                                "invalid indirect read from stack R{r} off {start}+{} size {size}",
                                o - start
                            ),
                        ));
                    }
                }
                Ok(())
            }
            RegType::MapValue { .. } | RegType::Packet | RegType::Mem { .. } => {
                let access = if uninit {
                    Access::Write(RegState::scalar(Scalar::UNKNOWN))
                } else {
                    Access::Read
                };
                // Check the whole range as one access of `size` bytes.
                self.range_access(st, pc, rn, reg, size, access)
            }
            _ => Err(acc(
                pc,
                format!(
                    "R{r} type={} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_",
                    reg.ty.linux_name()
                ),
            )),
        }
    }

    /// Records that the frame's function uses the stack down to `lowest`.
    fn note_stack_depth(&mut self, st: &mut State, frame: u8, lowest: i64) {
        let f = &mut st.frames[frame as usize];
        f.depth = f.depth.max((-lowest) as u32);
        let fi = self.cfg.subprog_of(f.subprog);
        self.depth[fi] = self.depth[fi].max((-lowest) as u32);
    }

    /// A load or store at a variable stack offset (`fixed` plus the
    /// register's variable part), as Linux allows privileged programs: every
    /// byte it may touch must lie inside the stack; a store turns them all
    /// into data (keeping known zeros and spilled zeros when it writes
    /// zero), a load returns an unknown value (zero if every byte is zero).
    #[allow(clippy::too_many_arguments)]
    fn stack_var_access(
        &mut self,
        st: &mut State,
        pc: usize,
        r: u8,
        frame: u8,
        reg: &RegState,
        fixed: i64,
        size: usize,
        access: Access,
    ) -> VResult<RegState> {
        let what = match access {
            Access::Write(_) => " write to",
            Access::Read => " read from",
        };
        let (lo, hi) = self.stack_var_bounds(pc, r, reg, fixed, size, what)?;
        self.note_stack_depth(st, frame, lo);
        let f = &mut st.frames[frame as usize];
        match access {
            Access::Write(v) => {
                let zero = v.is_zero();
                for o in lo..hi {
                    let (si, b) = locate(o);
                    let slot = f.slot_mut(si);
                    if slot.bytes[b] == ByteKind::Spill {
                        if zero && slot.spill.is_zero() {
                            continue;
                        }
                        scrub_spill(slot);
                    }
                    slot.bytes[b] = if zero && slot.bytes[b] == ByteKind::Zero {
                        ByteKind::Zero
                    } else {
                        ByteKind::Misc
                    };
                }
                Ok(v)
            }
            Access::Read => {
                let mut all_zero = true;
                for o in lo..hi {
                    let (si, b) = locate(o);
                    let slot = f.slot(si);
                    match slot.bytes[b] {
                        ByteKind::Invalid if !self.allow_uninit_stack => {
                            return Err(acc(
                                pc,
                                format!(
                                    "invalid read from stack R{r} var_off {}+{fixed} size {size}",
                                    tnum_text(reg.var.var_off)
                                ),
                            ));
                        }
                        ByteKind::Zero => {}
                        ByteKind::Spill if slot.spill.is_zero() => {}
                        _ => all_zero = false,
                    }
                }
                Ok(RegState::scalar(if all_zero {
                    Scalar::constant(0)
                } else {
                    sized_unknown(size)
                }))
            }
        }
    }

    /// The byte range `[lo, hi)` a variable-offset stack access may touch,
    /// or Linux's error when it may leave the stack.
    fn stack_var_bounds(
        &self,
        pc: usize,
        r: u8,
        reg: &RegState,
        fixed: i64,
        size: usize,
        what: &str,
    ) -> VResult<(i64, i64)> {
        let v = &reg.var;
        if v.smax >= MAX_VAR_OFF || v.smin <= -MAX_VAR_OFF {
            return Err(acc(pc, format!("invalid unbounded variable-offset{what} stack R{r}")));
        }
        let (lo, hi) = (v.smin + fixed, v.smax + fixed + size as i64);
        let message = || {
            format!(
                "invalid variable-offset{what} stack R{r} var_off={} off={fixed} size={size}",
                tnum_text(v.var_off)
            )
        };
        // Below the stack is unsafe; above the frame, malformed (Linux's
        // errnos).
        if lo < -(STACK_SIZE as i64) {
            return Err(acc(pc, message()));
        }
        if hi > 0 {
            return Err(inval(pc, message()));
        }
        Ok((lo, hi))
    }

    fn range_access(
        &mut self,
        _st: &mut State,
        pc: usize,
        rn: Reg,
        reg: &RegState,
        size: usize,
        access: Access,
    ) -> VResult<()> {
        let r = rn.num();
        let (limit, name) = match reg.ty {
            RegType::MapValue { map } => {
                let info = self.maps[map as usize].1;
                if matches!(access, Access::Write(_)) && info.read_only {
                    return Err(acc(pc, "write into map forbidden".into()));
                }
                (info.value_size as i64, "map value")
            }
            RegType::Packet => (reg.range as i64, "packet"),
            RegType::Mem { size } => (size as i64, "memory"),
            _ => (0, "memory"),
        };
        self.bounded_access(pc, r, reg, reg.off as i64, size, limit, |o| {
            format!("invalid access to {name}, off={o} size={size}")
        })
    }
}

fn proto_name(p: &HelperProto) -> &'static str {
    p.name
}

/// A load or a store of a value.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Write(RegState),
}

/// Slot and byte index of stack offset `o` (negative).
fn locate(o: i64) -> (usize, usize) {
    let slot = ((-o - 1) / 8) as usize;
    let byte = (o + 8 * (slot as i64 + 1)) as usize;
    (slot, byte)
}

/// A spilled register's slot becomes plain data: its spilled bytes are
/// now unknown data (Linux's `scrub_spilled_slot`).
fn scrub_spill(slot: &mut Slot) {
    for b in slot.bytes.iter_mut() {
        if *b != ByteKind::Invalid {
            *b = ByteKind::Misc;
        }
    }
    slot.spill = RegState::NOT_INIT;
}

/// A store of `size` bytes at stack offset `o` (aligned). As Linux does for
/// privileged programs, a store at the start of a slot spills the register:
/// any pointer (8 bytes) or any scalar, of any size, which a fill of the
/// same or a narrower size at the slot's start gives back.
fn stack_write(f: &mut Frame, o: i64, size: usize, v: RegState) {
    let (slot, byte) = locate(o);
    let s = f.slot_mut(slot);
    if byte == 0 && (size == 8 || v.ty == RegType::Scalar) {
        for b in s.bytes[size..].iter_mut() {
            if *b == ByteKind::Spill {
                *b = ByteKind::Misc;
            }
        }
        s.bytes[..size].fill(ByteKind::Spill);
        s.spill = v;
        return;
    }
    if s.bytes[0] == ByteKind::Spill {
        scrub_spill(s);
    }
    let kind = if v.is_zero() { ByteKind::Zero } else { ByteKind::Misc };
    s.bytes[byte..byte + size].fill(kind);
}

/// Why a stack load is refused.
enum StackReadError {
    /// The byte at this distance from the highest one was never written.
    Uninit(i64),
    /// A narrow load of part of a spilled pointer.
    FillSize,
}

/// The value of a `size`-byte load at stack offset `o` (aligned), as Linux
/// computes it: a fill of a spilled register at the slot's start gives the
/// register (a narrower one its low bytes); any other load gives an unknown
/// value, or zero when every byte is a known zero.
fn stack_read(
    f: &Frame,
    o: i64,
    size: usize,
    allow_uninit: bool,
) -> Result<RegState, StackReadError> {
    let (slot, byte) = locate(o);
    let s = f.slot(slot);
    if s.bytes[0] == ByteKind::Spill {
        let spill_size = s.bytes.iter().take_while(|b| **b == ByteKind::Spill).count();
        if size == 8 && spill_size == 8 {
            return Ok(s.spill);
        }
        if s.spill.ty != RegType::Scalar {
            return Err(StackReadError::FillSize);
        }
        if size <= spill_size && byte == 0 {
            return Ok(RegState::scalar(truncate(s.spill.var, size)));
        }
    }
    let (mut zeros, mut spills) = (0, 0);
    for k in (0..size).rev() {
        match s.bytes[byte + k] {
            ByteKind::Invalid if !allow_uninit => {
                return Err(StackReadError::Uninit((size - 1 - k) as i64));
            }
            ByteKind::Zero => zeros += 1,
            ByteKind::Spill => spills += 1,
            _ => {}
        }
    }
    let zero = zeros == size || (spills == size && s.spill.is_zero());
    Ok(RegState::scalar(if zero { Scalar::constant(0) } else { sized_unknown(size) }))
}

/// The low `size` bytes of `v`, zero-extended (Linux's
/// `coerce_reg_to_size`).
fn truncate(v: Scalar, size: usize) -> Scalar {
    if size >= 8 || v.umax >> (size * 8) == 0 {
        return v;
    }
    Scalar::from_tnum(v.var_off.cast(size as u32))
}

/// A tnum as Linux prints it: a constant as a number, else
/// `(value; mask)`.
fn tnum_text(t: Tnum) -> String {
    if t.is_const() {
        format!("{}", t.value as i64)
    } else {
        format!("({:#x}; {:#x})", t.value, t.mask)
    }
}

fn ctx_field(prog: &ProgType, off: i64, size: usize, write: bool) -> Option<CtxField> {
    if off < 0 || off % size as i64 != 0 {
        return None;
    }
    let off = off as u32;
    let size = size as u32;
    let f = prog.fields.iter().find(|f| f.off <= off && off + size <= f.off + f.size)?;
    if write && !f.writable {
        return None;
    }
    if !f.narrow && (off != f.off || size != f.size) {
        return None;
    }
    Some(*f)
}

/// After a NULL check: registers (and spills) sharing `id` become the
/// scalar 0 (`is_null`) or the checked pointer.
fn mark_null(st: &mut State, id: u32, is_null: bool) {
    let ref_id = st
        .frames
        .iter()
        .flat_map(|f| f.regs.iter())
        .find(|r| r.id == id && r.ref_id != 0)
        .map(|r| r.ref_id);
    let fix = |r: &mut RegState| {
        if r.id != id || !matches!(r.ty, RegType::MapValueOrNull { .. } | RegType::MemOrNull { .. })
        {
            return;
        }
        if is_null {
            *r = RegState::scalar(Scalar::constant(0));
        } else {
            r.ty = match r.ty {
                RegType::MapValueOrNull { map } => RegType::MapValue { map },
                RegType::MemOrNull { size } => RegType::Mem { size },
                t => t,
            };
            if r.ref_id == 0 {
                r.id = 0;
            }
        }
    };
    for f in st.frames.iter_mut() {
        for r in f.regs.iter_mut() {
            fix(r);
        }
        for s in f.stack.iter_mut() {
            if s.bytes == [ByteKind::Spill; 8] {
                fix(&mut s.spill);
            }
        }
    }
    if is_null && let Some(rid) = ref_id {
        // A failed reservation holds nothing to release.
        st.refs.retain(|r| r.id != rid);
    }
}

/// After a packet bounds check: every packet pointer derived like `p`
/// (same id and variable part) may access `range` bytes.
fn mark_pkt_range(st: &mut State, p: &RegState, range: u32) {
    let fix = |r: &mut RegState| {
        if r.ty == p.ty && r.id == p.id && r.var == p.var {
            r.range = r.range.max(range);
        }
    };
    for f in st.frames.iter_mut() {
        for r in f.regs.iter_mut() {
            fix(r);
        }
        for s in f.stack.iter_mut() {
            if s.bytes == [ByteKind::Spill; 8] {
                fix(&mut s.spill);
            }
        }
    }
}

/// The same state in every live register and every stack slot.
fn exact_match(a: &State, b: &State, live: &[u16]) -> bool {
    if a.frames.len() != b.frames.len() || a.refs.len() != b.refs.len() {
        return false;
    }
    for (i, (fa, fb)) in a.frames.iter().zip(&b.frames).enumerate() {
        let mask = live.get(i).copied().unwrap_or(u16::MAX);
        for r in 0..11 {
            if mask & (1 << r) != 0 && fa.regs[r] != fb.regs[r] {
                return false;
            }
        }
        if !fa.same_stack(fb) || fa.return_pc != fb.return_pc {
            return false;
        }
    }
    true
}

/// The registers whose values before `insn` determine the values of `regs`
/// after it.
fn needed_before(insn: &Instruction, regs: u16) -> u16 {
    let bit = |r: Reg| 1u16 << r.num();
    let mut need = regs;
    match *insn {
        Instruction::Alu { op, dst, src, .. } if regs & bit(dst) != 0 => {
            need &= !bit(dst);
            if op != AluOp::Mov {
                need |= bit(dst);
            }
            if let Operand::Reg(s) = src {
                need |= bit(s);
            }
        }
        Instruction::MovSx { dst, src, .. } if regs & bit(dst) != 0 => {
            need = (need & !bit(dst)) | bit(src);
        }
        Instruction::LoadImm64 { dst, .. } | Instruction::Load { dst, .. } => need &= !bit(dst),
        Instruction::Atomic { op, src, .. } => {
            if op == AtomicOp::CmpXchg {
                need &= !1;
            } else if op.fetches() {
                need &= !bit(src);
            }
        }
        Instruction::Call(_) | Instruction::LoadPacket { .. } => need &= !0x3f,
        // A comparison of two registers bounds each by the other: a
        // bound that matters makes the register it came from matter too
        // (else a path where that register was larger could be pruned as
        // equivalent: CVE-2023-2163).
        Instruction::Jump { dst, src: Operand::Reg(s), .. } if regs & (bit(dst) | bit(s)) != 0 => {
            need |= bit(dst) | bit(s);
        }
        _ => {}
    }
    need
}
