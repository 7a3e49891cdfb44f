//! The depth-first walk over a program's paths: the queue of branches
//! waiting to be explored, prune points (a path stops where an earlier,
//! fully explored state covers its own), infinite-loop detection, the
//! bookkeeping of which stored states are finished, and Linux's
//! complexity limits (processed instructions, pending branches).

use super::logging::scratched_regs;
use super::{Flow, VResult, Verifier, inval};
use crate::error::{E2BIG, VerifyError};
use crate::state::{State, subsumes};
use alloc::format;
use alloc::vec;
use axiom_abi::uapi::limits::BPF_COMPLEXITY_LIMIT_JMP_SEQ;

/// States kept per prune point. Each is compared with every new state
/// there, so this bounds the cost of a visit; 64 keeps wide programs fast
/// while loops of bounded length still find their earlier iterations.
const MAX_STATES_PER_INSN: usize = 64;

/// A point where paths part: the start, or a state stored at a prune
/// point. It is finished once no path through it is left to explore, and
/// only finished states may cover others.
pub(super) struct Node {
    parent: Option<usize>,
    /// Paths through it still being explored.
    branches: u32,
}

impl Node {
    /// The start of the program, its one path unfinished.
    pub(super) fn root() -> Node {
        Node { parent: None, branches: 1 }
    }
}

/// A state stored at a prune point.
pub(super) struct Explored {
    state: State,
    node: usize,
    /// Later visits this state covered, and did not.
    hits: u32,
    misses: u32,
}

/// A path being explored: its state, where it is, and since when.
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

impl Verifier<'_> {
    /// Explores every path from `init` at instruction 0.
    pub(super) fn explore(&mut self, init: State) -> VResult<()> {
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
                    self.log_insn(&path.state, path.from, pc, &insn, popped);
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
                        if work.len() > BPF_COMPLEXITY_LIMIT_JMP_SEQ {
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
