//! Constant propagation over a program's control-flow graph, for the code
//! generators: which instructions can run at all, which conditional jumps
//! always go one way, and which registers hold a known constant before each
//! instruction. It uses the reference interpreter's arithmetic, so the facts
//! hold for every execution; the verifier's richer facts will replace it.

use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::alu;
use axiom_abi::instruction::{AluOp, AtomicOp, Instruction, Operand, Pseudo, Width};

/// What is known about one register before an instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Known {
    /// No execution reaches here with this state.
    Unreached,
    /// This value on every execution.
    Const(u64),
    /// Any value.
    Unknown,
}

impl Known {
    fn meet(self, other: Known) -> Known {
        match (self, other) {
            (Known::Unreached, x) | (x, Known::Unreached) => x,
            (Known::Const(a), Known::Const(b)) if a == b => Known::Const(a),
            _ => Known::Unknown,
        }
    }

    /// The constant, if known.
    pub fn value(self) -> Option<u64> {
        match self {
            Known::Const(v) => Some(v),
            _ => None,
        }
    }
}

/// The facts about a program.
pub struct Facts {
    /// Registers before each slot (all `Unreached` if it never runs).
    pub before: Vec<[Known; 11]>,
    /// For conditional jumps that always go one way: `Some(taken)`.
    pub decided: Vec<Option<bool>>,
}

impl Facts {
    /// Whether the instruction at `pc` can run.
    pub fn reachable(&self, pc: usize) -> bool {
        self.before[pc][10] != Known::Unreached
    }
}

fn fold(width: Width, op: AluOp, a: Known, b: Known) -> Known {
    match (a, b) {
        (_, Known::Const(y)) if op == AluOp::Mov => Known::Const(alu::at_width(width, y)),
        (Known::Const(x), Known::Const(y)) => Known::Const(alu::alu(width, op, x, y)),
        _ => Known::Unknown,
    }
}

/// Computes the facts for `insns` (the decoded instruction at each slot,
/// `None` for second `lddw` slots) whose functions start at `starts`.
pub fn analyse(insns: &[Option<Instruction>], starts: &[usize]) -> Facts {
    let n = insns.len();
    let mut before = vec![[Known::Unreached; 11]; n];
    let mut decided: Vec<Option<Option<bool>>> = vec![None; n];
    let mut work = Vec::new();
    for &s in starts {
        if s < n {
            before[s] = [Known::Unknown; 11];
            work.push(s);
        }
    }
    let merge =
        |before: &mut Vec<[Known; 11]>, work: &mut Vec<usize>, t: usize, st: &[Known; 11]| {
            if t >= n {
                return;
            }
            let mut changed = false;
            for r in 0..11 {
                let m = before[t][r].meet(st[r]);
                if m != before[t][r] {
                    before[t][r] = m;
                    changed = true;
                }
            }
            if changed {
                work.push(t);
            }
        };
    while let Some(pc) = work.pop() {
        let Some(insn) = insns[pc] else { continue };
        let mut st = before[pc];
        let next = pc + insn.len();
        let val = |st: &[Known; 11], o: &Operand, w: Width| match *o {
            Operand::Reg(r) => st[r.idx()],
            Operand::Imm(i) => {
                Known::Const(if w == Width::W64 { i as i64 as u64 } else { i as u32 as u64 })
            }
        };
        match insn {
            Instruction::Alu { width, op, dst, src } => {
                let b = val(&st, &src, Width::W64);
                st[dst.idx()] = fold(width, op, st[dst.idx()], b);
            }
            Instruction::MovSx { width, dst, src, bits } => {
                st[dst.idx()] = match st[src.idx()] {
                    Known::Const(v) => Known::Const(alu::movsx(width, bits, v)),
                    _ => Known::Unknown,
                };
            }
            Instruction::Neg { width, dst } => {
                st[dst.idx()] = fold(width, AluOp::Sub, Known::Const(0), st[dst.idx()]);
            }
            Instruction::Endian { op, dst, bits } => {
                st[dst.idx()] = match st[dst.idx()] {
                    Known::Const(v) => Known::Const(alu::endian(op, bits, v)),
                    _ => Known::Unknown,
                };
            }
            Instruction::LoadImm64 { dst, kind, imm, next_imm } => {
                st[dst.idx()] = match kind {
                    Pseudo::Imm64 => Known::Const(Instruction::imm64(imm, next_imm)),
                    _ => Known::Unknown,
                };
            }
            Instruction::Load { dst, .. } => st[dst.idx()] = Known::Unknown,
            Instruction::Atomic { op, src, .. } => {
                if op == AtomicOp::CmpXchg {
                    st[0] = Known::Unknown;
                } else if op.fetches() {
                    st[src.idx()] = Known::Unknown;
                }
            }
            Instruction::LoadPacket { .. } | Instruction::Call(_) | Instruction::CallX { .. } => {
                for r in st.iter_mut().take(6) {
                    *r = Known::Unknown;
                }
            }
            Instruction::Store { .. } => {}
            Instruction::Exit => continue,
            Instruction::Ja { off } => {
                merge(&mut before, &mut work, (pc as i64 + 1 + off as i64) as usize, &st);
                continue;
            }
            Instruction::Gotol { imm } => {
                merge(&mut before, &mut work, (pc as i64 + 1 + imm as i64) as usize, &st);
                continue;
            }
            Instruction::Jump { width, cond, dst, src, off } => {
                let target = (pc as i64 + 1 + off as i64) as usize;
                let a = st[dst.idx()];
                let b = val(&st, &src, width);
                let outcome = match (a, b) {
                    (Known::Const(x), Known::Const(y)) => Some(match width {
                        Width::W64 => cond.eval64(x, y),
                        Width::W32 => cond.eval32(x, y),
                    }),
                    _ => None,
                };
                // A jump seen once decided one way and once another is not
                // decided; the lattice only moves down, so this settles.
                decided[pc] = Some(match decided[pc] {
                    None => outcome,
                    Some(prev) if prev == outcome => outcome,
                    Some(_) => None,
                });
                let d = decided[pc].flatten();
                if d != Some(false) {
                    merge(&mut before, &mut work, target, &st);
                }
                if d != Some(true) {
                    merge(&mut before, &mut work, next, &st);
                }
                continue;
            }
        }
        // After a local call, r0..r5 are unknown (above) and r6..r9 are the
        // caller's: every engine preserves them.
        merge(&mut before, &mut work, next, &st);
    }
    Facts { before, decided: decided.into_iter().map(Option::flatten).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axiom_abi::asm::assemble;
    use axiom_abi::instruction::decode;

    fn facts(text: &str) -> Facts {
        let slots = assemble(text).unwrap();
        let mut insns = vec![None; slots.len()];
        let mut pc = 0;
        while pc < slots.len() {
            let (i, len) = decode(&slots, pc).unwrap();
            insns[pc] = Some(i);
            pc += len;
        }
        analyse(&insns, &[0])
    }

    #[test]
    fn constant_branches_are_decided_and_dead_code_found() {
        let f = facts("mov %r0, 5\njeq %r0, 5, +1\nmov %r0, 7\nexit");
        assert_eq!(f.decided[1], Some(true));
        assert!(!f.reachable(2));
        assert!(f.reachable(3));
    }

    #[test]
    fn unknown_values_decide_nothing() {
        let f = facts("ldxw %r0, [%r1+0]\njeq %r0, 5, +1\nmov %r0, 7\nexit");
        assert_eq!(f.decided[1], None);
        assert!(f.reachable(2));
    }

    #[test]
    fn merges_of_different_constants_are_unknown() {
        // r2 is 1 or 2 at the join: the second jump depends on it.
        let f = facts(
            "ldxw %r0, [%r1+0]\nmov %r2, 1\njeq %r0, 0, +1\nmov %r2, 2\njeq %r2, 1, +1\nmov %r0, 9\nexit",
        );
        assert_eq!(f.before[4][2], Known::Unknown);
        assert_eq!(f.decided[4], None);
    }

    #[test]
    fn loops_reach_a_fixed_point() {
        let f = facts("mov %r0, 0\nadd %r0, 1\njlt %r0, 10, -2\nexit");
        assert_eq!(f.before[1][0], Known::Unknown);
        assert_eq!(f.decided[2], None);
        assert!(f.reachable(3));
    }

    #[test]
    fn helper_calls_forget_r0_to_r5_but_keep_r6_to_r9() {
        let f = facts("mov %r6, 3\nmov %r1, 4\ncall 5\nexit");
        assert_eq!(f.before[3][6], Known::Const(3));
        assert_eq!(f.before[3][1], Known::Unknown);
    }
}
