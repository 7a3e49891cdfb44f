//! The abstract machine state: registers, stack slots, call frames and
//! acquired references, with the comparisons state pruning needs.

use crate::bounds::Scalar;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use axiom_abi::uapi::limits::MAX_BPF_STACK;
use core::fmt;

/// What a register holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum RegType {
    /// Never written: reading it is an error.
    NotInit,
    /// A number.
    Scalar,
    /// The context pointer.
    Ctx,
    /// A pointer into the stack of frame `frame`.
    Stack {
        /// Frame number (0 = main program).
        frame: u8,
    },
    /// A map (from `lddw`).
    MapPtr {
        /// Map number in the program's map table.
        map: u16,
    },
    /// A pointer into a map value.
    MapValue {
        /// Map number.
        map: u16,
    },
    /// A map value pointer not yet checked against NULL.
    MapValueOrNull {
        /// Map number.
        map: u16,
    },
    /// Packet data.
    Packet,
    /// End of packet data.
    PacketEnd,
    /// Packet metadata.
    PacketMeta,
    /// Memory of a known size (ring-buffer reservations).
    Mem {
        /// Its size.
        size: u32,
    },
    /// Such memory, not yet checked against NULL.
    MemOrNull {
        /// Its size.
        size: u32,
    },
}

impl RegType {
    /// Whether the register holds a pointer.
    pub fn is_pointer(self) -> bool {
        !matches!(self, RegType::NotInit | RegType::Scalar)
    }

    /// Linux's name of the type in messages.
    pub fn linux_name(self) -> &'static str {
        match self {
            RegType::NotInit => "?",
            RegType::Scalar => "scalar",
            RegType::Ctx => "ctx",
            RegType::Stack { .. } => "fp",
            RegType::MapPtr { .. } => "map_ptr",
            RegType::MapValue { .. } => "map_value",
            RegType::MapValueOrNull { .. } => "map_value_or_null",
            RegType::Packet => "pkt",
            RegType::PacketEnd => "pkt_end",
            RegType::PacketMeta => "pkt_meta",
            RegType::Mem { .. } => "ringbuf_mem",
            RegType::MemOrNull { .. } => "ringbuf_mem_or_null",
        }
    }
}

/// One register's state. Pointers are `base + off + var` where `off` is a
/// known constant and `var` a scalar; scalars keep their value in `var`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct RegState {
    /// What it holds.
    pub ty: RegType,
    /// Constant offset of a pointer.
    pub off: i32,
    /// The value of a scalar, or the variable offset of a pointer.
    pub var: Scalar,
    /// Shared by copies of the same `*_or_null` pointer or packet pointer,
    /// so a NULL check or bounds check on one applies to all.
    pub id: u32,
    /// The reference a pointer holds (ring-buffer memory), or 0.
    pub ref_id: u32,
    /// Bytes of packet known accessible from this packet pointer.
    pub range: u32,
}

impl RegState {
    /// An unwritten register.
    pub const NOT_INIT: RegState =
        RegState { ty: RegType::NotInit, off: 0, var: Scalar::UNKNOWN, id: 0, ref_id: 0, range: 0 };

    /// A scalar with these facts.
    pub fn scalar(var: Scalar) -> RegState {
        RegState { ty: RegType::Scalar, var, ..RegState::NOT_INIT }
    }

    /// A pointer of type `ty` at offset 0.
    pub fn pointer(ty: RegType) -> RegState {
        RegState { ty, var: Scalar::constant(0), ..RegState::NOT_INIT }
    }

    /// Whether this is the scalar `0`.
    pub fn is_zero(&self) -> bool {
        self.ty == RegType::Scalar && self.var.as_const() == Some(0)
    }
}

/// A signed number as Linux logs it: decimal near zero, else hex.
fn snum(v: i64) -> String {
    if (-512..=512).contains(&v) { format!("{v}") } else { format!("{:#x}", v as u64) }
}

/// An unsigned number as Linux logs it.
fn unum(v: u64) -> String {
    if v <= 512 { format!("{v}") } else { format!("{v:#x}") }
}

/// A scalar's bounds as Linux's `print_scalar_ranges` writes them: unbounded
/// ones left out, equal ones merged (`smax=umax=10`), then the known bits.
fn write_ranges(f: &mut fmt::Formatter<'_>, v: &crate::bounds::Scalar) -> fmt::Result {
    let mut items = [
        ("smin", v.smin as u64, v.smin == i64::MIN),
        ("smax", v.smax as u64, v.smax == i64::MAX),
        ("umin", v.umin, v.umin == 0),
        ("umax", v.umax, v.umax == u64::MAX),
        ("smin32", v.s32min as i64 as u64, v.s32min == i32::MIN),
        ("smax32", v.s32max as i64 as u64, v.s32max == i32::MAX),
        ("umin32", v.u32min as u64, v.u32min == 0),
        ("umax32", v.u32max as u64, v.u32max == u32::MAX),
    ];
    let mut sep = "";
    for i in 0..items.len() {
        let (name, val, omit) = items[i];
        if omit {
            continue;
        }
        let negative = |n: &str, x: u64| n.starts_with('s') && (x as i64) < 0;
        write!(f, "{sep}{name}=")?;
        sep = ",";
        for j in (i + 2..items.len()).step_by(2) {
            let (n2, v2, o2) = items[j];
            if o2 || v2 != val || negative(n2, v2) != negative(name, val) {
                continue;
            }
            items[j].2 = true;
            write!(f, "{n2}=")?;
        }
        let text = if name.starts_with('s') { snum(val as i64) } else { unum(val) };
        f.write_str(&text)?;
    }
    if v.var_off != crate::tnum::Tnum::UNKNOWN {
        write!(f, "{sep}var_off=({:#x}; {:#x})", v.var_off.value, v.var_off.mask)?;
    }
    Ok(())
}

impl fmt::Display for RegState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ty {
            RegType::NotInit => write!(f, "?"),
            RegType::Scalar => match self.var.as_const() {
                Some(v) => write!(f, "{}", snum(v as i64)),
                None if self.var == crate::bounds::Scalar::UNKNOWN => write!(f, "scalar()"),
                None => {
                    write!(f, "scalar(")?;
                    write_ranges(f, &self.var)?;
                    write!(f, ")")
                }
            },
            RegType::Stack { .. } if self.var.as_const() == Some(0) => write!(f, "fp{}", self.off),
            RegType::Stack { .. } => {
                write!(f, "fp(")?;
                if self.off != 0 {
                    write!(f, "off={},", self.off)?;
                }
                write_ranges(f, &self.var)?;
                write!(f, ")")
            }
            ty => {
                write!(f, "{}(", ty.linux_name())?;
                let mut sep = "";
                if self.id != 0 {
                    write!(f, "id={}", self.id)?;
                    sep = ",";
                }
                if self.off != 0 {
                    write!(f, "{sep}off={}", self.off)?;
                    sep = ",";
                }
                if matches!(ty, RegType::Packet) {
                    write!(f, "{sep}r={}", self.range)?;
                }
                if let RegType::Mem { size } | RegType::MemOrNull { size } = ty {
                    write!(f, "{sep}sz={size}")?;
                }
                write!(f, ")")
            }
        }
    }
}

/// What one stack byte holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ByteKind {
    /// Never written.
    Invalid,
    /// Some data.
    Misc,
    /// Known zero.
    Zero,
    /// Part of a spilled register (see [`Slot::spill`]).
    Spill,
}

/// An 8-byte stack slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Slot {
    /// Per byte, lowest address first.
    pub bytes: [ByteKind; 8],
    /// The register spilled here when all 8 bytes are `Spill`.
    pub spill: RegState,
}

impl Slot {
    /// A never-written slot.
    pub const INVALID: Slot = Slot { bytes: [ByteKind::Invalid; 8], spill: RegState::NOT_INIT };
}

/// One call frame.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct Frame {
    /// `r0`..`r10`.
    pub regs: [RegState; 11],
    /// Slots from the top; slot 0 is `[fp-8, fp)`. Only slots up to the
    /// deepest one touched are stored: the rest are never written (see
    /// [`Frame::slot`]), which keeps states small.
    pub stack: Vec<Slot>,
    /// Instruction after the call that created the frame (0 for main).
    pub return_pc: usize,
    /// The function's first instruction.
    pub subprog: usize,
    /// Lowest stack offset written (for the stack depth).
    pub depth: u32,
}

impl Frame {
    /// A frame for a function starting at `subprog`.
    pub fn new(frame_no: u8, subprog: usize, return_pc: usize) -> Frame {
        let mut regs = [RegState::NOT_INIT; 11];
        regs[10] = RegState::pointer(RegType::Stack { frame: frame_no });
        Frame { regs, stack: Vec::new(), return_pc, subprog, depth: 0 }
    }

    /// Slot `i` (never-written past the stored ones).
    pub fn slot(&self, i: usize) -> &Slot {
        self.stack.get(i).unwrap_or(&Slot::INVALID)
    }

    /// Slot `i`, for writing (the stored slots grow to include it).
    pub fn slot_mut(&mut self, i: usize) -> &mut Slot {
        debug_assert!(i < MAX_BPF_STACK / 8);
        if i >= self.stack.len() {
            self.stack.resize(i + 1, Slot::INVALID);
        }
        &mut self.stack[i]
    }

    /// Whether both frames' stacks hold the same slots.
    pub fn same_stack(&self, other: &Frame) -> bool {
        let n = self.stack.len().max(other.stack.len());
        (0..n).all(|i| self.slot(i) == other.slot(i))
    }
}

/// An acquired reference the program must release.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Ref {
    /// Its id.
    pub id: u32,
    /// Where it was acquired.
    pub insn: usize,
}

/// The whole abstract state at one instruction.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct State {
    /// Call frames, innermost last.
    pub frames: Vec<Frame>,
    /// Outstanding references.
    pub refs: Vec<Ref>,
}

impl State {
    /// The innermost frame.
    pub fn cur(&self) -> &Frame {
        self.frames.last().expect("a state has a frame")
    }

    /// The innermost frame, mutable.
    pub fn cur_mut(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a state has a frame")
    }

    /// Applies `f` to every register of every frame and to every register
    /// spilled whole to a stack slot: every copy of a pointer.
    pub fn for_each_reg(&mut self, mut f: impl FnMut(&mut RegState)) {
        for frame in self.frames.iter_mut() {
            for r in frame.regs.iter_mut() {
                f(r);
            }
            for s in frame.stack.iter_mut() {
                if s.bytes == [ByteKind::Spill; 8] {
                    f(&mut s.spill);
                }
            }
        }
    }
}

/// Pairs ids of an old state with ids of a new one, for comparisons.
#[derive(Default)]
struct IdMap(Vec<(u32, u32)>);

impl IdMap {
    fn check(&mut self, old: u32, new: u32) -> bool {
        if old == 0 && new == 0 {
            return true;
        }
        for &(o, n) in &self.0 {
            if o == old {
                return n == new;
            }
            if n == new {
                return false;
            }
        }
        self.0.push((old, new));
        true
    }
}

fn reg_safe(old: &RegState, new: &RegState, precise: bool, ids: &mut IdMap) -> bool {
    match (old.ty, new.ty) {
        // The old path never read it (or failed): anything goes.
        (RegType::NotInit, _) => true,
        (_, RegType::NotInit) => false,
        // A scalar whose value no safety decision depends on: any scalar.
        (RegType::Scalar, RegType::Scalar) if !precise => true,
        (RegType::Scalar, RegType::Scalar) => old.var.includes(&new.var),
        (a, b) if a == b => {
            old.off == new.off
                && old.var.includes(&new.var)
                && old.range <= new.range
                && ids.check(old.id, new.id)
                && ids.check(old.ref_id, new.ref_id)
        }
        _ => false,
    }
}

fn slot_safe(old: &Slot, new: &Slot, ids: &mut IdMap) -> bool {
    // An old unknown scalar spill is as general as any initialised bytes.
    let old_any = old.spill.ty == RegType::Scalar && old.spill.var == Scalar::UNKNOWN;
    let mut compare_spills = false;
    for i in 0..8 {
        let ok = match old.bytes[i] {
            ByteKind::Invalid => true,
            ByteKind::Misc => {
                new.bytes[i] != ByteKind::Invalid
                    && (new.bytes[i] != ByteKind::Spill || new.spill.ty == RegType::Scalar)
            }
            ByteKind::Zero => {
                new.bytes[i] == ByteKind::Zero
                    || (new.bytes[i] == ByteKind::Spill && new.spill.is_zero())
            }
            ByteKind::Spill if new.bytes[i] == ByteKind::Spill => {
                compare_spills = true;
                true
            }
            ByteKind::Spill => old_any && new.bytes[i] != ByteKind::Invalid,
        };
        if !ok {
            return false;
        }
    }
    // Spills of different sizes read back differently: only equal ones
    // are compared register to register.
    let spill_size = |s: &Slot| s.bytes.iter().take_while(|b| **b == ByteKind::Spill).count();
    !compare_spills
        || (spill_size(old) == spill_size(new) && reg_safe(&old.spill, &new.spill, true, ids))
        || (old_any && new.bytes.iter().all(|b| *b != ByteKind::Invalid))
}

/// Whether `old`, a state from which every path was verified safe, covers
/// `new`: then `new` is safe too. `live[frame]` says which registers of
/// each frame can still be read, `precise[frame]` which scalars some safety
/// decision depends on (the others match any scalar).
pub fn subsumes(old: &State, new: &State, live: &[u16], precise: &[u16]) -> bool {
    if old.frames.len() != new.frames.len() || old.refs.len() != new.refs.len() {
        return false;
    }
    let mut ids = IdMap::default();
    for (i, (fo, fnew)) in old.frames.iter().zip(&new.frames).enumerate() {
        if fo.return_pc != fnew.return_pc || fo.subprog != fnew.subprog {
            return false;
        }
        let mask = live.get(i).copied().unwrap_or(u16::MAX);
        for r in 0..11 {
            let exact = precise.get(i).copied().unwrap_or(u16::MAX) & (1 << r) != 0;
            if mask & (1 << r) != 0 && !reg_safe(&fo.regs[r], &fnew.regs[r], exact, &mut ids) {
                return false;
            }
        }
        // Old slots never written cover anything: only stored ones count.
        for (k, so) in fo.stack.iter().enumerate() {
            if !slot_safe(so, fnew.slot(k), &mut ids) {
                return false;
            }
        }
    }
    old.refs.iter().zip(&new.refs).all(|(a, b)| ids.check(a.id, b.id))
}
