//! Assembler for the text syntax of the BPF conformance suite (the
//! `-- asm` sections of its `.data` files, inherited from uBPF):
//! `mov32 %r0, 0`, `ldxdw %r0, [%r1+8]`, `jne %r1, 5, label`,
//! `lock fetch add32 [%r10-4], %r1`, `call local func1`.
//!
//! Lines hold one instruction or a `label:`; `#` starts a comment. Jump
//! targets are `+N`/`-N` slot offsets or labels. As in the suite, a jump to
//! the undefined label `exit` goes to the program's last slot (its final
//! `exit` instruction). Axiom adds map references for its verifier tests:
//! `lddw %r1, map:0` (a map fd) and `lddw %r1, mapvalue:0+8` (the address
//! of byte 8 of map 0's value).

use crate::insn::Insn;
use crate::instruction::{
    AluOp, AtomicOp, CallTarget, Cond, EndianOp, Instruction, Operand, PacketMode, Pseudo, Reg,
    Size, Width,
};
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// An assembly failure, with the 1-based line it happened on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AsmError {
    /// 1-based line number in the source text.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl core::error::Error for AsmError {}

/// A jump target before labels are resolved.
enum Target {
    Offset(i64),
    Label(String),
}

/// One parsed line, waiting for its jump target.
struct Pending {
    line: usize,
    pc: usize,
    insn: Instruction,
    target: Option<Target>,
}

/// Assembles a whole program in the conformance syntax into slots.
pub fn assemble(text: &str) -> Result<Vec<Insn>, AsmError> {
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    let mut pending = Vec::new();
    let mut pc = 0usize;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let code = raw.split('#').next().unwrap_or("").trim();
        if code.is_empty() {
            continue;
        }
        if let Some(label) = code.strip_suffix(':') {
            let label = label.trim();
            if label.is_empty() || label.contains(char::is_whitespace) {
                return Err(AsmError { line, message: alloc::format!("invalid label `{code}`") });
            }
            if labels.insert(label.to_string(), pc).is_some() {
                return Err(AsmError {
                    line,
                    message: alloc::format!("duplicate label `{label}`"),
                });
            }
            continue;
        }
        let (insn, target) = parse_line(code).map_err(|message| AsmError { line, message })?;
        pending.push(Pending { line, pc, insn, target });
        pc += insn.len();
    }
    let total = pc;
    let mut out = Vec::with_capacity(total);
    for p in pending {
        let mut insn = p.insn;
        if let Some(target) = p.target {
            let err = |message: String| AsmError { line: p.line, message };
            let off = match target {
                Target::Offset(off) => off,
                Target::Label(name) => {
                    let to = match labels.get(&name) {
                        Some(&to) => to,
                        None if name == "exit" && total > 0 => total - 1,
                        None => return Err(err(alloc::format!("undefined label `{name}`"))),
                    };
                    to as i64 - (p.pc as i64 + 1)
                }
            };
            set_offset(&mut insn, off).map_err(err)?;
        }
        out.extend_from_slice(insn.encode().as_slice());
    }
    Ok(out)
}

fn set_offset(insn: &mut Instruction, off: i64) -> Result<(), String> {
    let short = || i16::try_from(off).map_err(|_| alloc::format!("jump offset {off} out of range"));
    match insn {
        Instruction::Ja { off: o } | Instruction::Jump { off: o, .. } => *o = short()?,
        Instruction::Gotol { imm } | Instruction::Call(CallTarget::Local(imm)) => {
            *imm = i32::try_from(off).map_err(|_| alloc::format!("offset {off} out of range"))?
        }
        _ => return Err("internal: target on a non-jump".into()),
    }
    Ok(())
}

fn parse_reg(s: &str) -> Result<Reg, String> {
    let s = s.trim();
    let n = s.strip_prefix("%r").and_then(|n| n.parse::<u8>().ok()).and_then(Reg::new);
    n.ok_or_else(|| alloc::format!("invalid register `{s}`"))
}

/// Parses a signed decimal or `0x` hexadecimal integer as i128 so that both
/// `-1` and `0xffffffff` fit before range checks.
fn parse_int(s: &str) -> Result<i128, String> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i128::from_str_radix(hex, 16)
    } else {
        body.parse::<i128>()
    }
    .map_err(|_| alloc::format!("invalid number `{s}`"))?;
    Ok(if neg { -v } else { v })
}

/// A 32-bit immediate: decimal in `i32`'s range, or hexadecimal up to
/// `0xffffffff` taken as its bit pattern (as the suite's own assembler does).
fn parse_imm32(s: &str) -> Result<i32, String> {
    let v = parse_int(s)?;
    let hex = s.trim().trim_start_matches(['-', '+']).starts_with("0x");
    let max = if hex { u32::MAX as i128 } else { i32::MAX as i128 };
    if (i32::MIN as i128..=max).contains(&v) {
        Ok(v as u32 as i32)
    } else {
        Err(alloc::format!("immediate `{}` does not fit in 32 bits", s.trim()))
    }
}

fn parse_operand(s: &str) -> Result<Operand, String> {
    if s.trim().starts_with('%') {
        Ok(Operand::Reg(parse_reg(s)?))
    } else {
        Ok(Operand::Imm(parse_imm32(s)?))
    }
}

/// `[%rN+off]`, `[%rN-off]` or `[%rN]`.
fn parse_mem(s: &str) -> Result<(Reg, i16), String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| alloc::format!("invalid memory operand `{s}`"))?;
    let split = inner.find(['+', '-']);
    let (reg, off) = match split {
        Some(at) => (&inner[..at], parse_int(&inner[at..])?),
        None => (inner, 0),
    };
    let off = i16::try_from(off).map_err(|_| alloc::format!("offset in `{s}` out of range"))?;
    Ok((parse_reg(reg)?, off))
}

fn parse_target(s: &str) -> Result<Target, String> {
    let s = s.trim();
    if s.starts_with(['+', '-']) || s.starts_with(|c: char| c.is_ascii_digit()) {
        let v = parse_int(s)?;
        Ok(Target::Offset(i64::try_from(v).map_err(|_| "offset out of range")?))
    } else if !s.is_empty() {
        Ok(Target::Label(s.to_string()))
    } else {
        Err("missing jump target".into())
    }
}

fn operands(rest: &str, want: usize, mnemonic: &str) -> Result<Vec<String>, String> {
    let ops: Vec<String> = if rest.trim().is_empty() {
        Vec::new()
    } else {
        rest.split(',').map(|s| s.trim().to_string()).collect()
    };
    if ops.len() != want {
        return Err(alloc::format!("`{mnemonic}` takes {want} operand(s), found {}", ops.len()));
    }
    Ok(ops)
}

/// Splits a mnemonic like `add32` into its base and width.
fn split_width(m: &str) -> (&str, Width) {
    if let Some(b) = m.strip_suffix("32") {
        (b, Width::W32)
    } else if let Some(b) = m.strip_suffix("64") {
        (b, Width::W64)
    } else {
        (m, Width::W64)
    }
}

fn alu_op(base: &str) -> Option<AluOp> {
    Some(match base {
        "add" => AluOp::Add,
        "sub" => AluOp::Sub,
        "mul" => AluOp::Mul,
        "div" => AluOp::Div,
        "sdiv" => AluOp::SDiv,
        "or" => AluOp::Or,
        "and" => AluOp::And,
        "lsh" => AluOp::Lsh,
        "rsh" => AluOp::Rsh,
        "mod" => AluOp::Mod,
        "smod" => AluOp::SMod,
        "xor" => AluOp::Xor,
        "mov" => AluOp::Mov,
        "arsh" => AluOp::Arsh,
        _ => return None,
    })
}

fn cond(base: &str) -> Option<Cond> {
    Some(match base {
        "jeq" => Cond::Eq,
        "jgt" => Cond::Gt,
        "jge" => Cond::Ge,
        "jset" => Cond::Set,
        "jne" => Cond::Ne,
        "jsgt" => Cond::Sgt,
        "jsge" => Cond::Sge,
        "jlt" => Cond::Lt,
        "jle" => Cond::Le,
        "jslt" => Cond::Slt,
        "jsle" => Cond::Sle,
        _ => return None,
    })
}

fn size_suffix(s: &str) -> Option<Size> {
    Some(match s {
        "b" => Size::B,
        "h" => Size::H,
        "w" => Size::W,
        "dw" => Size::DW,
        _ => return None,
    })
}

fn parse_line(code: &str) -> Result<(Instruction, Option<Target>), String> {
    let (mnemonic, rest) = match code.find(char::is_whitespace) {
        Some(at) => (&code[..at], code[at..].trim()),
        None => (code, ""),
    };
    let m = mnemonic.to_ascii_lowercase();
    let m = m.as_str();
    let no_target = |i: Instruction| Ok((i, None));

    if m == "exit" {
        operands(rest, 0, m)?;
        return no_target(Instruction::Exit);
    }
    if m == "lock" {
        return parse_lock(rest).map(|i| (i, None));
    }
    if m == "call" {
        let arg = rest.trim();
        if let Some(label) = arg.strip_prefix("local ") {
            return Ok((Instruction::Call(CallTarget::Local(0)), Some(parse_target(label)?)));
        }
        if arg.starts_with('%') {
            return no_target(Instruction::CallX { reg: parse_reg(arg)? });
        }
        return no_target(Instruction::Call(CallTarget::Helper(parse_imm32(arg)?)));
    }
    if m == "ja" || m == "ja32" {
        let ops = operands(rest, 1, m)?;
        let insn =
            if m == "ja" { Instruction::Ja { off: 0 } } else { Instruction::Gotol { imm: 0 } };
        return Ok((insn, Some(parse_target(&ops[0])?)));
    }
    if m == "lddw" {
        let ops = operands(rest, 2, m)?;
        // Axiom's extension for verifier tests: `map:N` is map fd N,
        // `mapvalue:N+OFF` the address of byte OFF of map N's value.
        if let Some(n) = ops[1].strip_prefix("map:") {
            let imm = parse_imm32(n)?;
            return no_target(Instruction::LoadImm64 {
                dst: parse_reg(&ops[0])?,
                kind: Pseudo::MapFd,
                imm,
                next_imm: 0,
            });
        }
        if let Some(spec) = ops[1].strip_prefix("mapvalue:") {
            let (n, off) = spec.split_once('+').unwrap_or((spec, "0"));
            let (imm, next_imm) = (parse_imm32(n)?, parse_imm32(off)?);
            return no_target(Instruction::LoadImm64 {
                dst: parse_reg(&ops[0])?,
                kind: Pseudo::MapValue,
                imm,
                next_imm,
            });
        }
        let v = parse_int(&ops[1])?;
        if !(i64::MIN as i128..=u64::MAX as i128).contains(&v) {
            return Err(alloc::format!("`{}` does not fit in 64 bits", ops[1]));
        }
        let v = v as u64;
        return no_target(Instruction::LoadImm64 {
            dst: parse_reg(&ops[0])?,
            kind: Pseudo::Imm64,
            imm: v as u32 as i32,
            next_imm: (v >> 32) as u32 as i32,
        });
    }
    for (prefix, op) in [
        ("be", EndianOp::ToBe),
        ("le", EndianOp::ToLe),
        ("bswap", EndianOp::Swap),
        ("swap", EndianOp::Swap),
    ] {
        if let Some(bits) = m.strip_prefix(prefix).and_then(|b| b.parse::<u8>().ok()) {
            if !matches!(bits, 16 | 32 | 64) {
                return Err(alloc::format!("invalid width in `{m}`"));
            }
            let ops = operands(rest, 1, m)?;
            return no_target(Instruction::Endian { op, dst: parse_reg(&ops[0])?, bits });
        }
    }
    if let Some(spec) = m.strip_prefix("movsx") {
        // movsx<from><to>: 832, 864, 1632, 1664, 3264.
        let (bits, width) = match spec {
            "832" => (8, Width::W32),
            "864" => (8, Width::W64),
            "1632" => (16, Width::W32),
            "1664" => (16, Width::W64),
            "3264" => (32, Width::W64),
            _ => return Err(alloc::format!("unknown mnemonic `{m}`")),
        };
        let ops = operands(rest, 2, m)?;
        return no_target(Instruction::MovSx {
            width,
            dst: parse_reg(&ops[0])?,
            src: parse_reg(&ops[1])?,
            bits,
        });
    }
    if let Some(sz) = m.strip_prefix("ldxs").and_then(size_suffix) {
        let ops = operands(rest, 2, m)?;
        let (src, off) = parse_mem(&ops[1])?;
        return no_target(Instruction::Load {
            size: sz,
            signed: true,
            dst: parse_reg(&ops[0])?,
            src,
            off,
        });
    }
    if let Some(sz) = m.strip_prefix("ldx").and_then(size_suffix) {
        let ops = operands(rest, 2, m)?;
        let (src, off) = parse_mem(&ops[1])?;
        return no_target(Instruction::Load {
            size: sz,
            signed: false,
            dst: parse_reg(&ops[0])?,
            src,
            off,
        });
    }
    if let Some(sz) = m.strip_prefix("stx").and_then(size_suffix) {
        let ops = operands(rest, 2, m)?;
        let (dst, off) = parse_mem(&ops[0])?;
        return no_target(Instruction::Store {
            size: sz,
            dst,
            off,
            src: Operand::Reg(parse_reg(&ops[1])?),
        });
    }
    if let Some(sz) = m.strip_prefix("st").and_then(size_suffix) {
        let ops = operands(rest, 2, m)?;
        let (dst, off) = parse_mem(&ops[0])?;
        return no_target(Instruction::Store {
            size: sz,
            dst,
            off,
            src: Operand::Imm(parse_imm32(&ops[1])?),
        });
    }
    if let Some(sz) = m.strip_prefix("ldabs").and_then(size_suffix) {
        let ops = operands(rest, 1, m)?;
        return no_target(Instruction::LoadPacket {
            mode: PacketMode::Abs,
            size: sz,
            imm: parse_imm32(&ops[0])?,
        });
    }
    if let Some(sz) = m.strip_prefix("ldind").and_then(size_suffix) {
        let ops = operands(rest, 2, m)?;
        let mode = PacketMode::Ind(parse_reg(&ops[0])?);
        return no_target(Instruction::LoadPacket { mode, size: sz, imm: parse_imm32(&ops[1])? });
    }
    let (base, width) = split_width(m);
    if base == "neg" {
        let ops = operands(rest, 1, m)?;
        return no_target(Instruction::Neg { width, dst: parse_reg(&ops[0])? });
    }
    if let Some(op) = alu_op(base) {
        let ops = operands(rest, 2, m)?;
        return no_target(Instruction::Alu {
            width,
            op,
            dst: parse_reg(&ops[0])?,
            src: parse_operand(&ops[1])?,
        });
    }
    if let Some(c) = cond(base) {
        let width = if m.ends_with("32") { Width::W32 } else { Width::W64 };
        let ops = operands(rest, 3, m)?;
        let insn = Instruction::Jump {
            width,
            cond: c,
            dst: parse_reg(&ops[0])?,
            src: parse_operand(&ops[1])?,
            off: 0,
        };
        return Ok((insn, Some(parse_target(&ops[2])?)));
    }
    Err(alloc::format!("unknown mnemonic `{mnemonic}`"))
}

/// `[fetch] add|or|and|xor|xchg|cmpxchg[32] [%rD+off], %rS`.
fn parse_lock(rest: &str) -> Result<Instruction, String> {
    let rest = rest.trim();
    let (fetch, rest) = match rest.strip_prefix("fetch ") {
        Some(r) => (true, r.trim()),
        None => (false, rest),
    };
    let at = rest.find(char::is_whitespace).ok_or("`lock` needs an operation and operands")?;
    let (op_name, ops) = (&rest[..at], &rest[at..]);
    let (base, width) = split_width(op_name);
    let size = if width == Width::W32 { Size::W } else { Size::DW };
    let op = match base {
        "add" => AtomicOp::Add { fetch },
        "or" => AtomicOp::Or { fetch },
        "and" => AtomicOp::And { fetch },
        "xor" => AtomicOp::Xor { fetch },
        "xchg" => AtomicOp::Xchg,
        "cmpxchg" => AtomicOp::CmpXchg,
        _ => return Err(alloc::format!("unknown atomic operation `{op_name}`")),
    };
    let ops = operands(ops, 2, "lock")?;
    let (dst, off) = parse_mem(&ops[0])?;
    Ok(Instruction::Atomic { size, op, dst, src: parse_reg(&ops[1])?, off })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembles_labels_and_lddw_offsets() {
        let p = assemble("lddw %r0, 0x1122334455667788\nja end\nmov %r0, 1\nend:\nexit").unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(p[0].to_u64(), 0x5566_7788_0000_0018);
        assert_eq!(p[1].to_u64(), 0x1122_3344_0000_0000);
        // ja at slot 2 to slot 4: offset +1.
        assert_eq!(p[2].to_u64(), 0x0000_0000_0001_0005);
    }

    #[test]
    fn memory_operands_and_atomics() {
        let p = assemble("ldxdw %r0, [%r1+8]\nstxw [%r10-4], %r2\nlock fetch add32 [%r10-4], %r1")
            .unwrap();
        assert_eq!(p[0], Insn::new(0x79, 0, 1, 8, 0));
        assert_eq!(p[1], Insn::new(0x63, 10, 2, -4, 0));
        assert_eq!(p[2], Insn::new(0xc3, 10, 1, -4, 1));
    }

    #[test]
    fn errors_name_the_line() {
        let e = assemble("mov %r0, 0\nfrob %r1\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("frob"));
        assert!(assemble("mov %r11, 0").is_err());
        assert!(assemble("mov %r0, 0x100000000").is_err());
        assert!(assemble("ja nowhere\nmov %r0, 0").is_err());
    }

    #[test]
    fn map_references() {
        let p = assemble("lddw %r1, map:3\nlddw %r2, mapvalue:1+16\nexit").unwrap();
        assert_eq!(p[0], Insn::new(0x18, 1, 1, 0, 3));
        assert_eq!(p[2], Insn::new(0x18, 2, 2, 0, 1));
        assert_eq!(p[3], Insn::new(0, 0, 0, 0, 16));
    }

    #[test]
    fn undefined_exit_label_goes_to_last_slot() {
        let p = assemble("jeq %r1, 0, exit\nmov %r0, 1\nexit").unwrap();
        assert_eq!(p[0].off, 1);
    }
}
