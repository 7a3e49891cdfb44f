//! The verifier log in Linux's format: at level 1 each processed
//! instruction as `pc: (code) text`, at level 2 also the registers after
//! it; the error message; the closing `processed N insns` line. A log that
//! does not fit its buffer keeps its end and makes the load fail with
//! `ENOSPC`, as in Linux.

use crate::state::{ByteKind, RegType, State};
use crate::tnum::Tnum;
use alloc::format;
use alloc::string::String;
use axiom_abi::Insn;
use axiom_abi::instruction::{
    AtomicOp, CallTarget, EndianOp, Instruction, Operand, PacketMode, Pseudo, Size, Width,
};
use core::fmt::Write;

/// A bounded log, rotating like Linux's: past its capacity the oldest
/// text is dropped; positions are absolute (counted from the start of the
/// whole log), so a reset to an earlier position works as in Linux.
pub struct Log {
    /// Verbosity: 0 none, 1 the failing path, 2 everything with states.
    pub level: u32,
    text: String,
    cap: usize,
    /// Bytes dropped from the front.
    dropped: usize,
    /// The furthest the log's end ever reached (Linux's `len_max`).
    max_end: usize,
}

impl Log {
    /// A log of at most `cap` bytes (Linux's `log_size`, which counts the
    /// terminating NUL).
    pub fn new(level: u32, cap: usize) -> Log {
        Log { level, text: String::new(), cap: cap.saturating_sub(1), dropped: 0, max_end: 0 }
    }

    /// Whether anything is logged at all.
    fn enabled(&self) -> bool {
        self.level > 0 || self.cap > 0
    }

    /// Appends text.
    pub fn write(&mut self, s: &str) {
        if !self.enabled() {
            return;
        }
        self.text.push_str(s);
        self.max_end = self.max_end.max(self.pos());
        // Trim in batches so that a long log costs linear time.
        if self.text.len() > self.cap.saturating_mul(2).max(4096) {
            self.trim();
        }
    }

    /// Appends a line.
    pub fn line(&mut self, s: &str) {
        self.write(s);
        self.write("\n");
    }

    /// The absolute position of the end.
    pub fn pos(&self) -> usize {
        self.dropped + self.text.len()
    }

    /// Cuts the log back to absolute position `pos` (Linux's
    /// `bpf_vlog_reset`).
    pub fn reset(&mut self, pos: usize) {
        if pos >= self.dropped {
            let mut keep = pos - self.dropped;
            while keep < self.text.len() && !self.text.is_char_boundary(keep) {
                keep += 1;
            }
            self.text.truncate(keep);
        } else {
            self.text.clear();
            self.dropped = pos;
        }
    }

    fn trim(&mut self) {
        if self.text.len() <= self.cap {
            return;
        }
        let mut cut = self.text.len() - self.cap;
        while !self.text.is_char_boundary(cut) {
            cut += 1;
        }
        self.text.drain(..cut);
        self.dropped += cut;
    }

    /// Whether the log ever outgrew its buffer (then the load fails with
    /// `ENOSPC`, as in Linux).
    pub fn overflowed(&self) -> bool {
        self.max_end > self.cap
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Takes the text (its last `cap` bytes).
    pub fn into_text(mut self) -> String {
        self.trim();
        self.text
    }
}

fn size_name(s: Size) -> &'static str {
    match s {
        Size::B => "u8",
        Size::H => "u16",
        Size::W => "u32",
        Size::DW => "u64",
    }
}

fn r(width: Width, n: u8) -> String {
    match width {
        Width::W32 => format!("w{n}"),
        Width::W64 => format!("r{n}"),
    }
}

fn operand(width: Width, o: &Operand) -> String {
    match o {
        Operand::Reg(x) => r(width, x.num()),
        Operand::Imm(i) => format!("{i}"),
    }
}

/// An instruction as Linux's verifier log prints it.
pub fn insn_text(pc: usize, slots: &[Insn], i: &Instruction, helper_name: Option<&str>) -> String {
    let code = slots.get(pc).map_or(0, |s| s.code);
    let body = match *i {
        Instruction::Alu { width, op, dst, src } => {
            format!("{} {} {}", r(width, dst.num()), op.symbol(), operand(width, &src))
        }
        Instruction::MovSx { width, dst, src, bits } => {
            format!("{} = (s{bits}){}", r(width, dst.num()), r(width, src.num()))
        }
        Instruction::Neg { width, dst } => {
            format!("{} = -{}", r(width, dst.num()), r(width, dst.num()))
        }
        Instruction::Endian { op, dst, bits } => {
            let name = match op {
                EndianOp::ToLe => "le",
                EndianOp::ToBe => "be",
                EndianOp::Swap => "bswap",
            };
            format!("r{} = {name}{bits} r{}", dst.num(), dst.num())
        }
        Instruction::LoadImm64 { dst, kind, imm, next_imm } => match kind {
            Pseudo::Imm64 => format!("r{} = {:#x}", dst.num(), Instruction::imm64(imm, next_imm)),
            Pseudo::MapFd | Pseudo::MapIdx => format!("r{} = map[id:{imm}]", dst.num()),
            Pseudo::MapValue | Pseudo::MapIdxValue => {
                format!("r{} = map[id:{imm}][0]+{next_imm}", dst.num())
            }
            _ => format!("r{} = {kind:?}({imm})", dst.num()),
        },
        Instruction::LoadPacket { mode, size, imm } => match mode {
            PacketMode::Abs => format!("r0 = *({} *)skb[{imm}]", size_name(size)),
            PacketMode::Ind(x) => format!("r0 = *({} *)skb[r{} + {imm}]", size_name(size), x.num()),
        },
        Instruction::Load { size, signed, dst, src, off } => {
            let s = if signed { size_name(size).replace('u', "s") } else { size_name(size).into() };
            format!("r{} = *({s} *)(r{} {off:+})", dst.num(), src.num())
        }
        Instruction::Store { size, dst, off, src } => {
            format!(
                "*({} *)(r{} {off:+}) = {}",
                size_name(size),
                dst.num(),
                operand(Width::W64, &src)
            )
        }
        Instruction::Atomic { size, op, dst, src, off } => {
            let w = if size == Size::W { Width::W32 } else { Width::W64 };
            let s = r(w, src.num());
            let m = format!("*({} *)(r{} {off:+})", size_name(size), dst.num());
            match op {
                AtomicOp::Add { fetch: false } => format!("lock {m} += {s}"),
                AtomicOp::Or { fetch: false } => format!("lock {m} |= {s}"),
                AtomicOp::And { fetch: false } => format!("lock {m} &= {s}"),
                AtomicOp::Xor { fetch: false } => format!("lock {m} ^= {s}"),
                AtomicOp::Add { .. } => format!(
                    "{s} = atomic{}_fetch_add(({m}), {s})",
                    if w == Width::W64 { "64" } else { "" }
                ),
                AtomicOp::Or { .. } => format!("{s} = atomic_fetch_or(({m}), {s})"),
                AtomicOp::And { .. } => format!("{s} = atomic_fetch_and(({m}), {s})"),
                AtomicOp::Xor { .. } => format!("{s} = atomic_fetch_xor(({m}), {s})"),
                AtomicOp::Xchg => format!("{s} = atomic_xchg(({m}), {s})"),
                AtomicOp::CmpXchg => format!("r0 = atomic_cmpxchg(({m}), r0, {s})"),
            }
        }
        Instruction::Ja { off } => format!("goto pc{off:+}"),
        Instruction::Gotol { imm } => format!("gotol pc{imm:+}"),
        Instruction::Jump { width, cond, dst, src, off } => {
            // Linux writes jump immediates in hex.
            let rhs = match src {
                Operand::Imm(i) => format!("{:#x}", i as u32),
                Operand::Reg(_) => operand(width, &src),
            };
            format!("if {} {} {rhs} goto pc{off:+}", r(width, dst.num()), cond.symbol())
        }
        Instruction::Call(CallTarget::Helper(id)) => {
            format!("call {}#{id}", helper_name.unwrap_or("unknown"))
        }
        Instruction::Call(CallTarget::Local(rel)) => format!("call pc{rel:+}"),
        Instruction::Call(CallTarget::Kfunc { btf_id, .. }) => {
            format!("call kernel-function#{btf_id}")
        }
        Instruction::CallX { reg } => format!("callx r{}", reg.num()),
        Instruction::Exit => "exit".into(),
    };
    format!("{pc}: ({code:02x}) {body}")
}

/// The innermost frame's registers in `regs` (a mask; not-initialised
/// ones left out) and stack slots in `slots`, as Linux's
/// `print_verifier_state` writes them: ` R0=1 R10=fp0 fp-8=mmmmmmmm`.
pub fn state_text(st: &State, regs: u16, slots: u64) -> String {
    let mut s = String::new();
    let f = st.cur();
    for (n, reg) in f.regs.iter().enumerate() {
        if reg.ty == RegType::NotInit || regs & (1 << n) == 0 {
            continue;
        }
        let _ = write!(s, " R{n}={reg}");
    }
    for (i, slot) in f.stack.iter().enumerate() {
        if slots & (1 << i) == 0 || slot.bytes.iter().all(|b| *b == ByteKind::Invalid) {
            continue;
        }
        let off = -8 * (i as i64 + 1);
        let spilled = slot.bytes.iter().take_while(|b| **b == ByteKind::Spill).count();
        if spilled == 8 {
            let _ = write!(s, " fp{off}={}", slot.spill);
        } else {
            // The other bytes' kinds, highest address first, then a narrow
            // spill's value.
            let kinds: String = slot.bytes[spilled..]
                .iter()
                .rev()
                .map(|b| match b {
                    ByteKind::Invalid => '?',
                    ByteKind::Misc => 'm',
                    ByteKind::Zero => '0',
                    ByteKind::Spill => 'r',
                })
                .collect();
            let value = if spilled > 0 { format!("{}", slot.spill) } else { String::new() };
            let _ = write!(s, " fp{off}={kinds}{value}");
        }
    }
    if !st.refs.is_empty() {
        let ids: alloc::vec::Vec<String> = st.refs.iter().map(|r| format!("{}", r.id)).collect();
        let _ = write!(s, " refs={}", ids.join(","));
    }
    s
}

/// Spaces before the `;` of an instruction's state annotation (Linux's
/// `vlog_alignment`): `;` lands on a multiple of 8 columns, at least 40.
pub fn annotation_padding(insn_line_len: usize) -> usize {
    (insn_line_len + 4).max(40).div_ceil(8) * 8 - insn_line_len - 1
}

/// A tnum as Linux prints it: a constant as a number, else
/// `(value; mask)`.
pub fn tnum_text(t: Tnum) -> String {
    if t.is_const() {
        format!("{}", t.value as i64)
    } else {
        format!("({:#x}; {:#x})", t.value, t.mask)
    }
}
