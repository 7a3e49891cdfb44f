//! A generator of random valid BPF programs for differential tests of
//! execution engines: every program terminates (jumps only go forward),
//! reads no undefined register or uninitialised stack, and touches only
//! its stack and one memory block whose address it keeps in `r6`. Pointers
//! (`r6`, `r10`) only ever serve as memory bases, so `r0` and memory hold
//! the same values on every correct engine.

use axiom_abi::Insn;
use axiom_abi::instruction::{
    AluOp, AtomicOp, CallTarget, Cond, EndianOp, Instruction, Operand, Pseudo, Reg, Size, Width,
};

/// A small deterministic random number generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An immediate biased towards edge cases.
    fn imm(&mut self) -> i32 {
        match self.below(6) {
            0 => self.pick(&[0, 1, -1, i32::MIN, i32::MAX, 31, 32, 63, 64]),
            1 => self.below(16) as i32,
            _ => self.next_u64() as i32,
        }
    }
}

/// Registers that hold scalars (never `r6`, the memory pointer, or `r10`).
const SCALARS: [u8; 9] = [0, 1, 2, 3, 4, 5, 7, 8, 9];
/// Bytes of stack the programs use (zeroed by their prologue).
pub const STACK_USED: i16 = 64;

fn reg(n: u8) -> Reg {
    Reg::new(n).expect("register number below 11")
}

/// One instruction of a function; jumps carry the index of their target
/// item, calls the number of the function they call.
enum Item {
    Plain(Instruction),
    Jump(Instruction, usize),
    Call(usize),
}

/// Generates a program of about `len` body instructions over `mem_len`
/// bytes of memory (at least 8): a main function and up to two
/// bpf-to-bpf callees (each may call the ones after it).
pub fn generate(rng: &mut Rng, len: usize, mem_len: usize) -> Vec<Insn> {
    let subprogs = rng.below(3) as usize;
    let mut items = Vec::new();
    let mut starts = vec![0];
    items.push(Item::Plain(Instruction::Alu {
        width: Width::W64,
        op: AluOp::Mov,
        dst: reg(6),
        src: Operand::Reg(reg(1)),
    }));
    zero_stack(&mut items);
    // Registers start from the memory block, so their values are unknown
    // when the program is compiled (and constant folding cannot hide the
    // code under test), then mixed with a random constant.
    for (k, &r) in SCALARS.iter().enumerate() {
        let v = rng.next_u64();
        let slots = (mem_len / 8).max(1) as i16;
        items.push(Item::Plain(Instruction::Load {
            size: Size::DW,
            signed: false,
            dst: reg(r),
            src: reg(6),
            off: 8 * (k as i16 % slots),
        }));
        items.push(Item::Plain(Instruction::LoadImm64 {
            dst: Reg::R0,
            kind: Pseudo::Imm64,
            imm: v as i32,
            next_imm: (v >> 32) as i32,
        }));
        if r != 0 {
            items.push(Item::Plain(Instruction::Alu {
                width: Width::W64,
                op: AluOp::Xor,
                dst: reg(r),
                src: Operand::Reg(Reg::R0),
            }));
        }
    }
    body(rng, &mut items, len, mem_len, 1..subprogs + 1);
    for f in 1..=subprogs {
        starts.push(items.len());
        zero_stack(&mut items);
        body(rng, &mut items, len / 2, mem_len, f + 1..subprogs + 1);
    }
    layout(&items, &starts)
}

/// Each frame's stack starts uninitialised on a JIT: zero what is used.
fn zero_stack(items: &mut Vec<Item>) {
    for k in 1..=STACK_USED / 8 {
        items.push(Item::Plain(Instruction::Store {
            size: Size::DW,
            dst: Reg::R10,
            off: -8 * k,
            src: Operand::Imm(0),
        }));
    }
}

/// Appends `len` random instructions and a final `exit`; jumps go forward
/// within them, calls go to functions in `callable`.
fn body(
    rng: &mut Rng,
    items: &mut Vec<Item>,
    len: usize,
    mem_len: usize,
    callable: std::ops::Range<usize>,
) {
    let plain = Item::Plain;
    let total = items.len() + len;
    while items.len() < total {
        let here = items.len();
        let d = reg(rng.pick(&SCALARS));
        let s = reg(rng.pick(&SCALARS));
        let width = if rng.below(2) == 0 { Width::W32 } else { Width::W64 };
        let operand = if rng.below(2) == 0 { Operand::Reg(s) } else { Operand::Imm(rng.imm()) };
        let size = rng.pick(&[Size::B, Size::H, Size::W, Size::DW]);
        // A memory operand on the stack or the block, aligned to its size.
        let mem = |rng: &mut Rng, size: Size| {
            let n = size.bytes() as i64;
            if rng.below(2) == 0 {
                let slots = STACK_USED as i64 / n;
                (Reg::R10, (-(1 + rng.below(slots as u64) as i64) * n) as i16)
            } else {
                let slots = mem_len as i64 / n;
                (reg(6), (rng.below(slots as u64) as i64 * n) as i16)
            }
        };
        let insn = match rng.below(21) {
            0..=5 => {
                let op = rng.pick(&AluOp::ALL);
                plain(Instruction::Alu { width, op, dst: d, src: operand })
            }
            6 => plain(Instruction::Neg { width, dst: d }),
            7 => {
                let op = rng.pick(&[EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap]);
                plain(Instruction::Endian { op, dst: d, bits: rng.pick(&[16, 32, 64]) })
            }
            8 => {
                let bits =
                    if width == Width::W64 { rng.pick(&[8, 16, 32]) } else { rng.pick(&[8, 16]) };
                plain(Instruction::MovSx { width, dst: d, src: s, bits })
            }
            9 => {
                let v = rng.next_u64();
                plain(Instruction::LoadImm64 {
                    dst: d,
                    kind: Pseudo::Imm64,
                    imm: v as i32,
                    next_imm: (v >> 32) as i32,
                })
            }
            10 | 11 => {
                let (base, off) = mem(rng, size);
                let signed = size != Size::DW && rng.below(3) == 0;
                plain(Instruction::Load { size, signed, dst: d, src: base, off })
            }
            12 | 13 => {
                let (base, off) = mem(rng, size);
                let src = if rng.below(2) == 0 { Operand::Reg(s) } else { Operand::Imm(rng.imm()) };
                plain(Instruction::Store { size, dst: base, off, src })
            }
            14 => {
                let size = rng.pick(&[Size::W, Size::DW]);
                let (base, off) = mem(rng, size);
                let fetch = rng.below(2) == 0;
                let op = rng.pick(&[
                    AtomicOp::Add { fetch },
                    AtomicOp::Or { fetch },
                    AtomicOp::And { fetch },
                    AtomicOp::Xor { fetch },
                    AtomicOp::Xchg,
                    AtomicOp::CmpXchg,
                ]);
                plain(Instruction::Atomic { size, op, dst: base, src: s, off })
            }
            15..=17 => {
                let target = here + 1 + rng.below((total - here) as u64) as usize;
                let cond = rng.pick(&Cond::ALL);
                let j = if rng.below(8) == 0 {
                    Instruction::Ja { off: 0 }
                } else {
                    Instruction::Jump { width, cond, dst: d, src: operand, off: 0 }
                };
                Item::Jump(j, target)
            }
            18 => {
                // A helper call clobbers r1-r5: define them again.
                items.push(plain(Instruction::Call(CallTarget::Helper(1))));
                for r in 1..=5 {
                    items.push(plain(Instruction::Alu {
                        width: Width::W64,
                        op: AluOp::Mov,
                        dst: reg(r),
                        src: Operand::Imm(rng.imm()),
                    }));
                }
                continue;
            }
            19 if !callable.is_empty() => {
                Item::Call(callable.start + rng.below(callable.len() as u64) as usize)
            }
            _ => {
                if rng.below(4) == 0 {
                    plain(Instruction::Exit)
                } else {
                    plain(Instruction::Alu { width, op: AluOp::Add, dst: d, src: operand })
                }
            }
        };
        items.push(insn);
    }
    items.push(plain(Instruction::Exit));
}

/// Lays out the slots, then resolves jump targets and calls.
fn layout(items: &[Item], starts: &[usize]) -> Vec<Insn> {
    let mut slot_of = Vec::with_capacity(items.len());
    let mut n = 0usize;
    for it in items {
        slot_of.push(n);
        n += match it {
            Item::Plain(i) | Item::Jump(i, _) => i.len(),
            Item::Call(_) => 1,
        };
    }
    let mut out = Vec::with_capacity(n);
    for (k, it) in items.iter().enumerate() {
        let insn = match it {
            Item::Plain(i) => *i,
            Item::Jump(i, target) => {
                let off = (slot_of[*target] - slot_of[k] - 1) as i16;
                match *i {
                    Instruction::Ja { .. } => Instruction::Ja { off },
                    Instruction::Jump { width, cond, dst, src, .. } => {
                        Instruction::Jump { width, cond, dst, src, off }
                    }
                    other => other,
                }
            }
            Item::Call(f) => {
                let rel = slot_of[starts[*f]] as i64 - slot_of[k] as i64 - 1;
                Instruction::Call(CallTarget::Local(rel as i32))
            }
        };
        out.extend_from_slice(insn.encode().as_slice());
    }
    out
}

fn xor_helper(
    args: [u64; 5],
    _: &mut [axiom_jit::interp::Region],
    _: &mut axiom_jit::interp::Stack,
) -> Result<u64, axiom_jit::interp::EnvError> {
    Ok(args[0] ^ args[1])
}

/// Runs a generated program on the reference interpreter with `mem` at
/// `addr` (and helper 1 as `r1 ^ r2`, like the JIT tests' helper): its `r0`
/// and the memory afterwards, for differential tests.
pub fn interpret(prog: &[Insn], mem: &[u8], addr: u64) -> (u64, Vec<u8>) {
    use axiom_jit::interp::{HostEnv, Interpreter};
    let mut env = HostEnv::default();
    env.add_region(addr, mem.to_vec(), true);
    env.helpers.insert(1, xor_helper);
    let prog: std::rc::Rc<[Insn]> = prog.into();
    let out = Interpreter::default()
        .run(&mut env, prog, &[addr, mem.len() as u64])
        .expect("generated programs run");
    (out.r0, env.regions.swap_remove(0).data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_decode_and_end_with_exit() {
        let mut rng = Rng::new(7);
        for _ in 0..100 {
            let p = generate(&mut rng, 60, 32);
            let decoded: Vec<_> =
                axiom_abi::instruction::decode_all(&p).collect::<Result<_, _>>().unwrap();
            assert!(matches!(decoded.last(), Some((_, Instruction::Exit))));
        }
    }
}
