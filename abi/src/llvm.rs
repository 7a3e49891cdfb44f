//! LLVM's BPF assembly syntax, what `llvm-objdump-22 -d` prints: a
//! disassembler (the text users see in tools and verifier logs) and an
//! assembler that reads it back, objdump's index and byte columns and
//! `<label>` suffixes included.
//!
//! Forms LLVM's syntax cannot tell apart get Axiom's spellings:
//! bpf-to-bpf calls are `call pc+0x5` (objdump prints them as helper calls
//! with a relocation), kfunc calls `call kfunc 0x2a`, and `lddw` with a
//! pseudo source `r1 = map_fd(3) ll`, `r1 = map_value(3) + 0x8 ll`,
//! `r1 = btf_id(7) ll`, `r1 = func(+0x3) ll`, `r1 = map_idx(0) ll`,
//! `r1 = map_idx_value(0) + 0x8 ll`.

use crate::insn::Insn;
use crate::instruction::{
    AluOp, AtomicOp, CallTarget, Cond, DecodeError, EndianOp, Instruction, Operand, PacketMode,
    Pseudo, Reg, Size, Width, decode,
};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write};

/// An assembly failure, with the 1-based line.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AsmError {
    /// Line number (1-based).
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

/// A signed number as objdump prints it: `0x10`, `-0x8`.
fn hex(v: i64) -> String {
    if v < 0 { format!("-{:#x}", v.unsigned_abs()) } else { format!("{v:#x}") }
}

/// A jump or call offset: `+0x1`, `-0x2`.
fn rel(v: i64) -> String {
    if v < 0 { format!("-{:#x}", v.unsigned_abs()) } else { format!("+{v:#x}") }
}

fn reg(width: Width, r: Reg) -> String {
    match width {
        Width::W32 => format!("w{}", r.num()),
        Width::W64 => format!("r{}", r.num()),
    }
}

fn size_of(s: Size) -> &'static str {
    match s {
        Size::B => "u8",
        Size::H => "u16",
        Size::W => "u32",
        Size::DW => "u64",
    }
}

fn mem(size: Size, base: Reg, off: i16) -> String {
    let o = off as i64;
    let sign = if o < 0 { '-' } else { '+' };
    format!("*({} *)(r{} {sign} {:#x})", size_of(size), base.num(), o.unsigned_abs())
}

fn addr(base: Reg, off: i16) -> String {
    let o = off as i64;
    let sign = if o < 0 { '-' } else { '+' };
    format!("r{} {sign} {:#x}", base.num(), o.unsigned_abs())
}

fn operand(width: Width, o: &Operand) -> String {
    match o {
        Operand::Reg(r) => reg(width, *r),
        Operand::Imm(i) => hex(*i as i64),
    }
}

/// One instruction in LLVM's syntax.
pub fn disassemble(insn: &Instruction) -> String {
    match *insn {
        Instruction::Alu { width, op, dst, src } => {
            format!("{} {} {}", reg(width, dst), op.symbol(), operand(width, &src))
        }
        Instruction::MovSx { width, dst, src, bits } => {
            format!("{} = (s{bits}){}", reg(width, dst), reg(width, src))
        }
        Instruction::Neg { width, dst } => format!("{} = -{}", reg(width, dst), reg(width, dst)),
        Instruction::Endian { op, dst, bits } => {
            let name = match op {
                EndianOp::ToLe => "le",
                EndianOp::ToBe => "be",
                EndianOp::Swap => "bswap",
            };
            format!("r{0} = {name}{bits} r{0}", dst.num())
        }
        Instruction::LoadImm64 { dst, kind, imm, next_imm } => {
            let d = dst.num();
            match kind {
                Pseudo::Imm64 => {
                    let v = Instruction::imm64(imm, next_imm) as i64;
                    format!("r{d} = {} ll", hex(v))
                }
                Pseudo::MapFd => format!("r{d} = map_fd({imm}) ll"),
                Pseudo::MapValue => {
                    format!("r{d} = map_value({imm}) + {} ll", hex(next_imm as i64))
                }
                Pseudo::BtfId if next_imm == 0 => format!("r{d} = btf_id({imm}) ll"),
                Pseudo::BtfId => format!("r{d} = btf_id({imm}, {next_imm}) ll"),
                Pseudo::Func => format!("r{d} = func({}) ll", rel(imm as i64)),
                Pseudo::MapIdx => format!("r{d} = map_idx({imm}) ll"),
                Pseudo::MapIdxValue => {
                    format!("r{d} = map_idx_value({imm}) + {} ll", hex(next_imm as i64))
                }
            }
        }
        Instruction::LoadPacket { mode, size, imm } => match mode {
            PacketMode::Abs => format!("r0 = *({} *)skb[{}]", size_of(size), hex(imm as i64)),
            PacketMode::Ind(r) if imm == 0 => {
                format!("r0 = *({} *)skb[r{}]", size_of(size), r.num())
            }
            PacketMode::Ind(r) => {
                format!("r0 = *({} *)skb[r{} + {}]", size_of(size), r.num(), hex(imm as i64))
            }
        },
        Instruction::Load { size, signed, dst, src, off } => {
            let m = mem(size, src, off);
            let m = if signed { m.replacen("*(u", "*(s", 1) } else { m };
            format!("r{} = {m}", dst.num())
        }
        Instruction::Store { size, dst, off, src } => {
            let w = if size == Size::DW { Width::W64 } else { Width::W32 };
            format!("{} = {}", mem(size, dst, off), operand(w, &src))
        }
        Instruction::Atomic { size, op, dst, src, off } => {
            let w = if size == Size::DW { Width::W64 } else { Width::W32 };
            let s = reg(w, src);
            let m = mem(size, dst, off);
            let fetch_name = |name: &str| format!("{s} = atomic_fetch_{name}({}, {s})", &m[1..]);
            match op {
                AtomicOp::Add { fetch: false } => format!("lock {m} += {s}"),
                AtomicOp::Or { fetch: false } => format!("lock {m} |= {s}"),
                AtomicOp::And { fetch: false } => format!("lock {m} &= {s}"),
                AtomicOp::Xor { fetch: false } => format!("lock {m} ^= {s}"),
                AtomicOp::Add { fetch: true } => fetch_name("add"),
                AtomicOp::Or { fetch: true } => fetch_name("or"),
                AtomicOp::And { fetch: true } => fetch_name("and"),
                AtomicOp::Xor { fetch: true } => fetch_name("xor"),
                AtomicOp::Xchg => {
                    let f = if w == Width::W64 { "xchg_64" } else { "xchg32_32" };
                    format!("{s} = {f}({}, {s})", addr(dst, off))
                }
                AtomicOp::CmpXchg => {
                    let f = if w == Width::W64 { "cmpxchg_64" } else { "cmpxchg32_32" };
                    let r0 = reg(w, Reg::R0);
                    format!("{r0} = {f}({}, {r0}, {s})", addr(dst, off))
                }
            }
        }
        Instruction::Ja { off } => format!("goto {}", rel(off as i64)),
        Instruction::Gotol { imm } => format!("gotol {}", rel(imm as i64)),
        Instruction::Jump { width, cond, dst, src, off } => format!(
            "if {} {} {} goto {}",
            reg(width, dst),
            cond.symbol(),
            operand(width, &src),
            rel(off as i64)
        ),
        Instruction::Call(CallTarget::Helper(id)) => format!("call {}", hex(id as i64)),
        Instruction::Call(CallTarget::Local(r)) => format!("call pc{}", rel(r as i64)),
        Instruction::Call(CallTarget::Kfunc { btf_id, module: 0 }) => {
            format!("call kfunc {}", hex(btf_id as i64))
        }
        Instruction::Call(CallTarget::Kfunc { btf_id, module }) => {
            format!("call kfunc {}, {}", hex(btf_id as i64), hex(module as i64))
        }
        Instruction::CallX { reg } => format!("callx r{}", reg.num()),
        Instruction::Exit => "exit".to_string(),
    }
}

/// A whole program, one instruction a line, each with its slot index as
/// objdump numbers them.
pub fn disassemble_program(slots: &[Insn]) -> Result<String, DecodeError> {
    let mut out = String::new();
    for r in crate::instruction::decode_all(slots) {
        let (pc, insn) = r?;
        let _ = writeln!(out, "{pc:>8}:\t{}", disassemble(&insn));
    }
    Ok(out)
}

fn parse_num(s: &str) -> Result<i128, String> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match body.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16),
        None => body.parse::<i128>(),
    }
    .map_err(|_| format!("invalid number `{s}`"))?;
    Ok(if neg { -v } else { v })
}

fn imm32(s: &str) -> Result<i32, String> {
    let v = parse_num(s)?;
    if (i32::MIN as i128..=u32::MAX as i128).contains(&v) {
        Ok(v as u32 as i32)
    } else {
        Err(format!("`{s}` does not fit in 32 bits"))
    }
}

fn off16(s: &str) -> Result<i16, String> {
    let v = parse_num(s)?;
    i16::try_from(v).map_err(|_| format!("offset `{s}` does not fit in 16 bits"))
}

/// `rN` or `wN`.
fn parse_reg(s: &str) -> Result<(Width, Reg), String> {
    let s = s.trim();
    let (w, n) = match (s.strip_prefix('r'), s.strip_prefix('w')) {
        (Some(n), _) => (Width::W64, n),
        (_, Some(n)) => (Width::W32, n),
        _ => return Err(format!("expected a register, found `{s}`")),
    };
    let r =
        n.parse::<u8>().ok().and_then(Reg::new).ok_or_else(|| format!("invalid register `{s}`"))?;
    Ok((w, r))
}

fn is_reg(s: &str) -> bool {
    parse_reg(s).is_ok()
}

fn parse_size(s: &str) -> Result<(Size, bool), String> {
    Ok(match s {
        "u8" => (Size::B, false),
        "u16" => (Size::H, false),
        "u32" => (Size::W, false),
        "u64" => (Size::DW, false),
        "s8" => (Size::B, true),
        "s16" => (Size::H, true),
        "s32" => (Size::W, true),
        _ => return Err(format!("invalid size `{s}`")),
    })
}

/// `rB + 0x8` / `rB - 0x8`.
fn parse_addr(s: &str) -> Result<(Reg, i16), String> {
    let s = s.trim();
    let (base, off) = match s.find(['+', '-']) {
        Some(at) => {
            let sign = &s[at..at + 1];
            (&s[..at], format!("{sign}{}", s[at + 1..].trim()))
        }
        None => (s, "0".to_string()),
    };
    let (w, r) = parse_reg(base)?;
    if w != Width::W64 {
        return Err(format!("address base must be an r register in `{s}`"));
    }
    Ok((r, off16(&off)?))
}

/// `*(SIZE *)(rB + OFF)`, returning the rest of the string after it.
fn parse_mem(s: &str) -> Result<(Size, bool, Reg, i16), String> {
    let s = s.trim();
    let inner =
        s.strip_prefix("*(").ok_or_else(|| format!("expected a memory operand, found `{s}`"))?;
    let (size, rest) =
        inner.split_once(" *)").ok_or_else(|| format!("invalid memory operand `{s}`"))?;
    let (sz, signed) = parse_size(size.trim())?;
    let a = rest.trim().strip_prefix('(').and_then(|r| r.strip_suffix(')'));
    let a = a.ok_or_else(|| format!("invalid address in `{s}`"))?;
    let (base, off) = parse_addr(a)?;
    Ok((sz, signed, base, off))
}

fn pseudo_arg<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.strip_prefix(name)?.strip_prefix('(').and_then(|r| r.split_once(')')).map(|(a, _)| a)
}

/// Strips objdump's slot index, byte columns, `<label>` and comments.
fn clean(line: &str) -> &str {
    let mut s = line;
    if let Some(at) = s.find([';', '#']) {
        s = &s[..at];
    }
    // objdump's `<label+0x10>` after jump targets (not `<` in `s<=`).
    if s.trim_end().ends_with('>')
        && let Some(at) = s.rfind(" <")
    {
        s = &s[..at];
    }
    let t = s.trim_start();
    if let Some((idx, rest)) = t.split_once(':')
        && !idx.is_empty()
        && idx.trim().chars().all(|c| c.is_ascii_hexdigit())
    {
        s = rest;
        // Byte columns: runs of two hex digits.
        let mut r = s.trim_start();
        loop {
            let b = r.as_bytes();
            if b.len() >= 3
                && b[0].is_ascii_hexdigit()
                && b[1].is_ascii_hexdigit()
                && b[2].is_ascii_whitespace()
            {
                r = r[3..].trim_start();
            } else {
                break;
            }
        }
        s = r;
    }
    s.trim()
}

/// Assembles one instruction.
pub fn assemble(line: &str) -> Result<Instruction, String> {
    let s = clean(line);
    if s.is_empty() {
        return Err("empty line".into());
    }
    if s == "exit" {
        return Ok(Instruction::Exit);
    }
    if let Some(r) = s.strip_prefix("gotol ") {
        return Ok(Instruction::Gotol { imm: imm32(r)? });
    }
    if let Some(r) = s.strip_prefix("goto ") {
        return Ok(Instruction::Ja { off: off16(r)? });
    }
    if let Some(r) = s.strip_prefix("callx ") {
        let (_, reg) = parse_reg(r)?;
        return Ok(Instruction::CallX { reg });
    }
    if let Some(r) = s.strip_prefix("call ") {
        let r = r.trim();
        if let Some(off) = r.strip_prefix("pc") {
            return Ok(Instruction::Call(CallTarget::Local(imm32(off)?)));
        }
        if let Some(k) = r.strip_prefix("kfunc ") {
            let (id, module) = k.split_once(',').unwrap_or((k, "0"));
            return Ok(Instruction::Call(CallTarget::Kfunc {
                btf_id: imm32(id)?,
                module: off16(module)?,
            }));
        }
        return Ok(Instruction::Call(CallTarget::Helper(imm32(r)?)));
    }
    if let Some(r) = s.strip_prefix("if ") {
        let (cmp, target) = r.split_once(" goto ").ok_or("conditional jump without `goto`")?;
        let parts: Vec<&str> = cmp.split_whitespace().collect();
        let [a, op, b] = parts[..] else { return Err(format!("invalid comparison `{cmp}`")) };
        let cond = Cond::ALL
            .iter()
            .copied()
            .find(|c| c.symbol() == op)
            .ok_or_else(|| format!("unknown comparison `{op}`"))?;
        let (width, dst) = parse_reg(a)?;
        let src = if is_reg(b) {
            let (w2, r) = parse_reg(b)?;
            if w2 != width {
                return Err(format!("mixed register widths in `{cmp}`"));
            }
            Operand::Reg(r)
        } else {
            Operand::Imm(imm32(b)?)
        };
        return Ok(Instruction::Jump { width, cond, dst, src, off: off16(target)? });
    }
    if let Some(r) = s.strip_prefix("lock ") {
        let (m, rest) = r
            .split_once(')')
            .and_then(|(a, b)| b.split_once(')').map(|(c, d)| (format!("{a}){c})"), d)))
            .ok_or("invalid lock operand")?;
        let (size, _, base, off) = parse_mem(&m)?;
        let rest = rest.trim();
        let (op, src) = rest.split_once(' ').ok_or("invalid lock operation")?;
        let (_, src) = parse_reg(src)?;
        let op = match op {
            "+=" => AtomicOp::Add { fetch: false },
            "|=" => AtomicOp::Or { fetch: false },
            "&=" => AtomicOp::And { fetch: false },
            "^=" => AtomicOp::Xor { fetch: false },
            _ => return Err(format!("unknown atomic operation `{op}`")),
        };
        return Ok(Instruction::Atomic { size, op, dst: base, src, off });
    }
    let (lhs, rhs) = s.split_once('=').ok_or_else(|| format!("cannot parse `{s}`"))?;
    // Compound assignment: the operator is the end of the left side.
    let lhs_t = lhs.trim_end();
    if let Some(op) = AluOp::ALL.iter().copied().filter(|o| *o != AluOp::Mov).find(|o| {
        let sym = &o.symbol()[..o.symbol().len() - 1];
        lhs_t.ends_with(sym) && is_reg(lhs_t[..lhs_t.len() - sym.len()].trim())
    }) {
        let sym = &op.symbol()[..op.symbol().len() - 1];
        let (width, dst) = parse_reg(lhs_t[..lhs_t.len() - sym.len()].trim())?;
        let rhs = rhs.trim();
        let src = if is_reg(rhs) {
            let (w2, r) = parse_reg(rhs)?;
            if w2 != width {
                return Err(format!("mixed register widths in `{s}`"));
            }
            Operand::Reg(r)
        } else {
            Operand::Imm(imm32(rhs)?)
        };
        return Ok(Instruction::Alu { width, op, dst, src });
    }
    let lhs = lhs.trim();
    let rhs = rhs.trim();
    // Stores.
    if lhs.starts_with("*(") {
        let (size, _, base, off) = parse_mem(lhs)?;
        let src =
            if is_reg(rhs) { Operand::Reg(parse_reg(rhs)?.1) } else { Operand::Imm(imm32(rhs)?) };
        return Ok(Instruction::Store { size, dst: base, off, src });
    }
    let (width, dst) = parse_reg(lhs)?;
    if let Some(v) = rhs.strip_suffix(" ll") {
        let v = v.trim();
        let pseudo = |kind, imm: &str, next: i32| -> Result<Instruction, String> {
            Ok(Instruction::LoadImm64 { dst, kind, imm: imm32(imm)?, next_imm: next })
        };
        let with_off = |name: &str| -> Option<(String, String)> {
            let a = pseudo_arg(v, name)?;
            let after = v.split_once(')').map(|(_, b)| b.trim()).unwrap_or("");
            let off = after.strip_prefix('+').map(str::trim).unwrap_or("0");
            Some((a.to_string(), off.to_string()))
        };
        if let Some((a, off)) = with_off("map_idx_value") {
            return pseudo(Pseudo::MapIdxValue, &a, imm32(&off)?);
        }
        if let Some((a, off)) = with_off("map_value") {
            return pseudo(Pseudo::MapValue, &a, imm32(&off)?);
        }
        if let Some(a) = pseudo_arg(v, "btf_id") {
            let (id, module) = a.split_once(',').unwrap_or((a, "0"));
            return pseudo(Pseudo::BtfId, id, imm32(module)?);
        }
        for (name, kind) in
            [("map_fd", Pseudo::MapFd), ("func", Pseudo::Func), ("map_idx", Pseudo::MapIdx)]
        {
            if let Some(a) = pseudo_arg(v, name) {
                return pseudo(kind, a, 0);
            }
        }
        let n = parse_num(v)?;
        if !(i64::MIN as i128..=u64::MAX as i128).contains(&n) {
            return Err(format!("`{v}` does not fit in 64 bits"));
        }
        let n = n as u64;
        return Ok(Instruction::LoadImm64 {
            dst,
            kind: Pseudo::Imm64,
            imm: n as u32 as i32,
            next_imm: (n >> 32) as i32,
        });
    }
    if let Some(rest) = rhs.strip_prefix("*(") {
        if let Some((size, idx)) = rest.split_once(" *)skb[") {
            let (sz, _) = parse_size(size.trim())?;
            let idx = idx.strip_suffix(']').ok_or("unterminated skb[...]")?;
            let (mode, imm) = if let Some((r, i)) = idx.split_once('+') {
                (PacketMode::Ind(parse_reg(r)?.1), imm32(i)?)
            } else if is_reg(idx) {
                (PacketMode::Ind(parse_reg(idx)?.1), 0)
            } else {
                (PacketMode::Abs, imm32(idx)?)
            };
            return Ok(Instruction::LoadPacket { mode, size: sz, imm });
        }
        let (size, signed, base, off) = parse_mem(rhs)?;
        return Ok(Instruction::Load { size, signed, dst, src: base, off });
    }
    if let Some(r) = rhs.strip_prefix('-')
        && is_reg(r)
    {
        return Ok(Instruction::Neg { width, dst });
    }
    for (prefix, op) in [("bswap", EndianOp::Swap), ("be", EndianOp::ToBe), ("le", EndianOp::ToLe)]
    {
        if let Some(r) = rhs.strip_prefix(prefix)
            && let Some((bits, _)) = r.split_once(' ')
            && let Ok(bits) = bits.parse::<u8>()
        {
            return Ok(Instruction::Endian { op, dst, bits });
        }
    }
    if let Some(r) = rhs.strip_prefix("(s") {
        let (bits, src) = r.split_once(')').ok_or("invalid sign extension")?;
        let bits = bits.parse::<u8>().map_err(|_| "invalid sign extension width")?;
        return Ok(Instruction::MovSx { width, dst, src: parse_reg(src)?.1, bits });
    }
    if let Some(r) = rhs.strip_prefix("atomic_fetch_") {
        let (name, args) = r.split_once('(').ok_or("invalid atomic")?;
        let args = args.strip_suffix(')').ok_or("invalid atomic")?;
        let (m, src) = args.rsplit_once(',').ok_or("invalid atomic")?;
        let m = m
            .trim()
            .strip_prefix('(')
            .and_then(|x| x.split_once(')').map(|(a, b)| format!("*({a}){b}")));
        let (size, _, base, off) = parse_mem(&m.ok_or("invalid atomic address")?)?;
        let op = match name {
            "add" => AtomicOp::Add { fetch: true },
            "or" => AtomicOp::Or { fetch: true },
            "and" => AtomicOp::And { fetch: true },
            "xor" => AtomicOp::Xor { fetch: true },
            _ => return Err(format!("unknown atomic `{name}`")),
        };
        return Ok(Instruction::Atomic { size, op, dst: base, src: parse_reg(src)?.1, off });
    }
    for (name, size, op) in [
        ("xchg_64(", Size::DW, AtomicOp::Xchg),
        ("xchg32_32(", Size::W, AtomicOp::Xchg),
        ("cmpxchg_64(", Size::DW, AtomicOp::CmpXchg),
        ("cmpxchg32_32(", Size::W, AtomicOp::CmpXchg),
    ] {
        if let Some(args) = rhs.strip_prefix(name) {
            let args = args.strip_suffix(')').ok_or("invalid atomic")?;
            let parts: Vec<&str> = args.split(',').collect();
            let (a, src) = (parts[0], parts[parts.len() - 1]);
            let (base, off) = parse_addr(a)?;
            return Ok(Instruction::Atomic { size, op, dst: base, src: parse_reg(src)?.1, off });
        }
    }
    // Plain assignment.
    let src = if is_reg(rhs) {
        let (w2, r) = parse_reg(rhs)?;
        if w2 != width {
            return Err(format!("mixed register widths in `{s}`"));
        }
        Operand::Reg(r)
    } else {
        Operand::Imm(imm32(rhs)?)
    };
    Ok(Instruction::Alu { width, op: AluOp::Mov, dst, src })
}

/// Assembles a program: one instruction a line; blank lines, comments
/// (`;`, `#`) and objdump's headers are skipped.
pub fn assemble_program(text: &str) -> Result<Vec<Insn>, AsmError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let c = clean(line);
        if c.is_empty()
            || c.ends_with(':')
            || c.starts_with("Disassembly")
            || c.contains("file format")
        {
            continue;
        }
        let insn = assemble(line).map_err(|message| AsmError { line: n + 1, message })?;
        out.extend_from_slice(insn.encode().as_slice());
    }
    Ok(out)
}

/// Decodes and disassembles `slots`; an error for invalid encodings.
pub fn disassemble_at(slots: &[Insn], pc: usize) -> Result<String, DecodeError> {
    decode(slots, pc).map(|(i, _)| disassemble(&i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Pairs checked against `llvm-mc-22 -triple bpfel -mcpu=v4` and
    /// `llvm-objdump-22 -d` (2026-11-24).
    const OBJDUMP: &[(&str, [u8; 8])] = &[
        ("r0 = 0x0", [0xb7, 0x00, 0, 0, 0, 0, 0, 0]),
        ("w0 = 0x5", [0xb4, 0x00, 0, 0, 5, 0, 0, 0]),
        ("r1 += r2", [0x0f, 0x21, 0, 0, 0, 0, 0, 0]),
        ("w1 += 0x3", [0x04, 0x01, 0, 0, 3, 0, 0, 0]),
        ("r1 s/= r2", [0x3f, 0x21, 1, 0, 0, 0, 0, 0]),
        ("w1 s%= 0x4", [0x94, 0x01, 1, 0, 4, 0, 0, 0]),
        ("r1 = -r1", [0x87, 0x01, 0, 0, 0, 0, 0, 0]),
        ("w1 = -w1", [0x84, 0x01, 0, 0, 0, 0, 0, 0]),
        ("r1 = be16 r1", [0xdc, 0x01, 0, 0, 0x10, 0, 0, 0]),
        ("r1 = le32 r1", [0xd4, 0x01, 0, 0, 0x20, 0, 0, 0]),
        ("r1 = bswap64 r1", [0xd7, 0x01, 0, 0, 0x40, 0, 0, 0]),
        ("r1 = (s8)r2", [0xbf, 0x21, 8, 0, 0, 0, 0, 0]),
        ("w1 = (s16)w2", [0xbc, 0x21, 0x10, 0, 0, 0, 0, 0]),
        ("r1 = (s32)r2", [0xbf, 0x21, 0x20, 0, 0, 0, 0, 0]),
        ("r0 = *(u64 *)(r1 + 0x8)", [0x79, 0x10, 8, 0, 0, 0, 0, 0]),
        ("r0 = *(s16 *)(r1 - 0x2)", [0x89, 0x10, 0xfe, 0xff, 0, 0, 0, 0]),
        ("r0 = *(s32 *)(r1 + 0x0)", [0x81, 0x10, 0, 0, 0, 0, 0, 0]),
        ("*(u32 *)(r10 - 0x4) = w1", [0x63, 0x1a, 0xfc, 0xff, 0, 0, 0, 0]),
        ("*(u64 *)(r10 - 0x8) = 0x5", [0x7a, 0x0a, 0xf8, 0xff, 5, 0, 0, 0]),
        ("*(u8 *)(r10 - 0x1) = -0x3", [0x72, 0x0a, 0xff, 0xff, 0xfd, 0xff, 0xff, 0xff]),
        ("lock *(u64 *)(r1 + 0x0) += r2", [0xdb, 0x21, 0, 0, 0, 0, 0, 0]),
        ("lock *(u32 *)(r1 + 0x0) |= w2", [0xc3, 0x21, 0, 0, 0x40, 0, 0, 0]),
        ("lock *(u32 *)(r1 + 0x0) &= w2", [0xc3, 0x21, 0, 0, 0x50, 0, 0, 0]),
        ("lock *(u64 *)(r1 + 0x0) ^= r2", [0xdb, 0x21, 0, 0, 0xa0, 0, 0, 0]),
        ("r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)", [0xdb, 0x21, 0, 0, 0x01, 0, 0, 0]),
        ("w2 = atomic_fetch_xor((u32 *)(r1 + 0x0), w2)", [0xc3, 0x21, 0, 0, 0xa1, 0, 0, 0]),
        ("r2 = atomic_fetch_and((u64 *)(r1 + 0x0), r2)", [0xdb, 0x21, 0, 0, 0x51, 0, 0, 0]),
        ("r2 = atomic_fetch_or((u64 *)(r1 + 0x0), r2)", [0xdb, 0x21, 0, 0, 0x41, 0, 0, 0]),
        ("r2 = xchg_64(r1 + 0x0, r2)", [0xdb, 0x21, 0, 0, 0xe1, 0, 0, 0]),
        ("w2 = xchg32_32(r1 + 0x0, w2)", [0xc3, 0x21, 0, 0, 0xe1, 0, 0, 0]),
        ("r0 = cmpxchg_64(r1 + 0x0, r0, r2)", [0xdb, 0x21, 0, 0, 0xf1, 0, 0, 0]),
        ("w0 = cmpxchg32_32(r1 + 0x0, w0, w2)", [0xc3, 0x21, 0, 0, 0xf1, 0, 0, 0]),
        ("goto +0x1", [0x05, 0x00, 1, 0, 0, 0, 0, 0]),
        ("gotol +0x1", [0x06, 0x00, 0, 0, 1, 0, 0, 0]),
        ("if r1 > 0x3 goto +0x2", [0x25, 0x01, 2, 0, 3, 0, 0, 0]),
        ("if w1 s< w2 goto -0x1", [0xce, 0x21, 0xff, 0xff, 0, 0, 0, 0]),
        ("if r1 & r2 goto +0x0", [0x4d, 0x21, 0, 0, 0, 0, 0, 0]),
        ("if r1 == r2 goto +0x1", [0x1d, 0x21, 1, 0, 0, 0, 0, 0]),
        ("if w1 & 0x4 goto +0x1", [0x46, 0x01, 1, 0, 4, 0, 0, 0]),
        ("if r1 s>= -0x5 goto +0x1", [0x75, 0x01, 1, 0, 0xfb, 0xff, 0xff, 0xff]),
        ("call 0x1", [0x85, 0x00, 0, 0, 1, 0, 0, 0]),
        ("callx r2", [0x8d, 0x02, 0, 0, 0, 0, 0, 0]),
        ("r0 = *(u8 *)skb[0x3]", [0x30, 0x00, 0, 0, 3, 0, 0, 0]),
        ("r0 = *(u16 *)skb[r1]", [0x48, 0x10, 0, 0, 0, 0, 0, 0]),
        ("r0 = -0x1", [0xb7, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff]),
        ("w0 = -0x1", [0xb4, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff]),
        ("r1 += -0x8", [0x07, 0x01, 0, 0, 0xf8, 0xff, 0xff, 0xff]),
        ("w1 = w2", [0xbc, 0x21, 0, 0, 0, 0, 0, 0]),
        ("r1 <<= 0x3", [0x67, 0x01, 0, 0, 3, 0, 0, 0]),
        ("w1 s>>= w2", [0xcc, 0x21, 0, 0, 0, 0, 0, 0]),
        ("r1 %= r3", [0x9f, 0x31, 0, 0, 0, 0, 0, 0]),
        ("r1 /= 0x10", [0x37, 0x01, 0, 0, 0x10, 0, 0, 0]),
        ("exit", [0x95, 0x00, 0, 0, 0, 0, 0, 0]),
    ];

    #[test]
    fn matches_llvm_objdump_text_and_bytes() {
        for (text, bytes) in OBJDUMP {
            let slots = [Insn::from_bytes(*bytes), Insn::default()];
            let (insn, _) = decode(&slots, 0).unwrap();
            assert_eq!(disassemble(&insn), *text, "{bytes:02x?}");
            assert_eq!(assemble(text).unwrap(), insn, "{text}");
        }
    }

    #[test]
    fn lddw_forms() {
        let p = assemble_program(
            "r1 = 0x1122334455667788 ll\nr2 = map_value(3) + 0x8 ll\nr3 = -0x1 ll",
        )
        .unwrap();
        assert_eq!(p[0].to_u64(), 0x5566_7788_0000_0118);
        assert_eq!((p[2].src, p[2].imm, p[3].imm), (2, 3, 8));
        assert_eq!(Instruction::imm64(p[4].imm, p[5].imm), u64::MAX);
        let text = disassemble_program(&p).unwrap();
        assert!(text.contains("r2 = map_value(3) + 0x8 ll"), "{text}");
        assert_eq!(assemble_program(&text).unwrap(), p);
    }

    #[test]
    fn objdump_columns_and_labels_are_ignored() {
        let line = "      29:\t25 01 02 00 03 00 00 00\tif r1 > 0x3 goto +0x2 <.text+0x100>";
        assert_eq!(
            assemble(line).unwrap(),
            Instruction::Jump {
                width: Width::W64,
                cond: Cond::Gt,
                dst: Reg::new(1).unwrap(),
                src: Operand::Imm(3),
                off: 2,
            }
        );
    }

    #[test]
    fn errors_are_clear() {
        assert!(assemble("r11 = 0x0").unwrap_err().contains("invalid register"));
        assert!(assemble("r1 += w2").unwrap_err().contains("mixed"));
        assert!(assemble("frobnicate").is_err());
        let e = assemble_program("r0 = 0x0\nr0 ?= 1\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if std::env::var_os("AXIOM_LONG_TESTS").is_some() { 500_000 } else { 20_000 }))]

        /// Every valid instruction disassembles to text that assembles back
        /// to it.
        #[test]
        fn disassembly_round_trips(code in any::<u8>(), dst in 0u8..11, src in 0u8..11,
                                   off in prop_oneof![Just(0i16), Just(1), Just(8), Just(16), Just(32), any::<i16>()],
                                   imm in prop_oneof![Just(0i32), Just(16), Just(32), Just(64), Just(0xe1), Just(0xf1), Just(0x41), any::<i32>()],
                                   next in any::<i32>()) {
            let slots = [Insn::new(code, dst, src, off, imm), Insn::new(0, 0, 0, 0, next)];
            if let Ok((insn, _)) = decode(&slots, 0) {
                let text = disassemble(&insn);
                prop_assert_eq!(assemble(&text), Ok(insn), "{}", text);
            }
        }
    }
}
