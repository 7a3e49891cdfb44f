//! Axiom's loader of clang-built `.bpf.o` files, following libbpf's
//! conventions: programs by `SEC()` name, BTF-defined maps in `.maps` and
//! legacy ones in `maps`, global data (`.data`, `.rodata`, `.bss`,
//! `.rodata.*`) as array maps, `.text` subprograms appended to the programs
//! that call them, `license` and `version`, line info from `.BTF.ext`.
//!
//! The result is backend-neutral: programs refer to maps by their index in
//! [`Object::maps`] (`lddw` with `src = 1` for a map, `src = 2` with an
//! offset for a map value); a backend creates the maps and substitutes its
//! handles ([`Program::with_map_handles`]). no_std + alloc, so a program
//! running inside Axiom can use it too.
#![no_std]

extern crate alloc;

pub mod btf;
pub mod sections;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::Insn;
use btf::{Btf, BtfMap, Line};
use object::read::elf::ElfFile64;
use object::{Endianness, Object as _, ObjectSection, ObjectSymbol, RelocationTarget, SectionKind};

/// Why an object could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Not an ELF file, or a malformed one.
    Elf(String),
    /// An ELF file, but not for BPF.
    NotBpf(String),
    /// A program section whose name maps to no program type.
    UnknownSection(String),
    /// No `license` section.
    NoLicense,
    /// Malformed BTF.
    Btf(String),
    /// A map definition Axiom cannot use.
    Map(String),
    /// A relocation that cannot be applied.
    Reloc(String),
    /// A CO-RE relocation and no target BTF to apply it against.
    CoRe(String),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Elf(e) => write!(f, "not a valid ELF object: {e}"),
            LoadError::NotBpf(e) => write!(f, "not a BPF object: {e}"),
            LoadError::UnknownSection(s) => {
                write!(f, "section `{s}`: no program type for this SEC() name")
            }
            LoadError::NoLicense => write!(f, "no `license` section (SEC(\"license\"))"),
            LoadError::Btf(e) => write!(f, "BTF: {e}"),
            LoadError::Map(e) => write!(f, "map: {e}"),
            LoadError::Reloc(e) => write!(f, "relocation: {e}"),
            LoadError::CoRe(e) => write!(f, "CO-RE: {e}"),
        }
    }
}

impl core::error::Error for LoadError {}

/// Where a map comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapOrigin {
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A legacy `struct bpf_map_def` in `maps`.
    Legacy,
    /// A global data section; its initial contents.
    Data {
        /// The section's bytes (zeros for `.bss`).
        init: Vec<u8>,
        /// Read-only (`.rodata*`): frozen after initialisation.
        frozen: bool,
    },
}

/// A map the object needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// Its name (the variable, or the data section).
    pub name: String,
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Entries.
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
    /// libbpf's pinning (`LIBBPF_PIN_BY_NAME` = 1).
    pub pinning: u32,
    /// The inner map of a map-in-map.
    pub inner: Option<Box<MapDef>>,
    /// Where it comes from.
    pub origin: MapOrigin,
}

/// A program of the object, with its subprograms appended.
#[derive(Clone, Debug)]
pub struct Program {
    /// The function's name.
    pub name: String,
    /// Its `SEC()` name.
    pub section: String,
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// `expected_attach_type`.
    pub attach_type: u32,
    /// The attach target named by the section (`tracepoint/sched/...`).
    pub attach_to: Option<String>,
    /// The instructions; `lddw` map references carry the map index.
    pub insns: Vec<Insn>,
    /// Source lines, by instruction slot of `insns`.
    pub lines: Vec<Line>,
}

impl Program {
    /// The instructions with each map index replaced by `handle(index)`
    /// (a file descriptor, an address...).
    pub fn with_map_handles(&self, handle: impl Fn(usize) -> i32) -> Vec<Insn> {
        let mut out = self.insns.clone();
        for i in out.iter_mut() {
            if i.code == 0x18 && matches!(i.src, 1 | 2) {
                i.imm = handle(i.imm as usize);
            }
        }
        out
    }
}

/// A loaded object.
#[derive(Clone, Debug)]
pub struct Object {
    /// The `license` string.
    pub license: String,
    /// The `version` value (0 if absent).
    pub version: u32,
    /// Maps, by index.
    pub maps: Vec<MapDef>,
    /// Programs, in section order.
    pub programs: Vec<Program>,
}

/// `R_BPF_64_64`: a `lddw` of a map or global variable.
const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_32`: a call to a function in another section.
const R_BPF_64_32: u32 = 10;
/// `R_BPF_64_ABS64`/`ABS32`: BTF/DWARF data, not code.
const R_BPF_64_ABS: [u32; 2] = [2, 3];
/// `EM_BPF`.
const EM_BPF: u16 = 247;
/// The largest global data section (a single array value).
const MAX_DATA_SECTION: u64 = 16 << 20;

/// One code section: its instructions, what its relocations refer to.
struct Code {
    name: String,
    insns: Vec<Insn>,
    /// (slot, what the slot's `lddw` or call refers to)
    relocs: Vec<(usize, Target)>,
}

#[derive(Clone, Debug)]
enum Target {
    /// A map by index.
    Map(usize),
    /// A global variable: map index and offset in it.
    Value(usize, u32),
    /// A function in `.text` at this slot.
    Text(usize),
}

/// Parses an object for a target without BTF: an object that needs CO-RE
/// relocations is refused, naming the first one.
pub fn load(bytes: &[u8]) -> Result<Object, LoadError> {
    load_for(bytes, None)
}

/// Parses an object; CO-RE relocations are applied against `target_btf`
/// (the target kernel's BTF, such as `/sys/kernel/btf/vmlinux`) when given.
pub fn load_for(bytes: &[u8], target_btf: Option<&[u8]>) -> Result<Object, LoadError> {
    // The target's BTF is parsed only if a CO-RE relocation needs it.
    let mut target: Option<Btf> = None;
    let elf = ElfFile64::<Endianness>::parse(bytes).map_err(|e| LoadError::Elf(e.to_string()))?;
    let machine = elf.elf_header().e_machine.get(elf.endian());
    if machine != EM_BPF {
        return Err(LoadError::NotBpf(format!("ELF machine {machine}, not EM_BPF (247)")));
    }
    if !elf.is_little_endian() {
        return Err(LoadError::NotBpf("big-endian BPF objects are not supported".into()));
    }
    let section_data = |name: &str| -> Result<Option<&[u8]>, LoadError> {
        match elf.section_by_name(name) {
            Some(s) => s.data().map(Some).map_err(|e| LoadError::Elf(format!("{name}: {e}"))),
            None => Ok(None),
        }
    };
    let license = section_data("license")?.ok_or(LoadError::NoLicense)?;
    let license =
        String::from_utf8_lossy(license.split(|&c| c == 0).next().unwrap_or(&[])).into_owned();
    let version = section_data("version")?
        .and_then(|v| v.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .unwrap_or(0);
    let btf = section_data(".BTF")?.map(Btf::parse).transpose()?;
    let ext = match (section_data(".BTF.ext")?, &btf) {
        (Some(e), Some(b)) => btf::parse_ext(e, b)?,
        _ => Vec::new(),
    };

    // Maps: BTF-defined, legacy, global data.
    let mut maps: Vec<MapDef> = Vec::new();
    let mut btf_maps: Vec<(String, usize)> = Vec::new(); // (variable, index)
    if elf.section_by_name(".maps").is_some() {
        let b = btf.as_ref().ok_or_else(|| LoadError::Map("`.maps` without `.BTF`".into()))?;
        for m in b.maps()? {
            btf_maps.push((m.name.clone(), maps.len()));
            maps.push(from_btf(&m));
        }
    }
    let mut legacy: Vec<(u64, usize)> = Vec::new(); // (symbol value, index)
    if let Some(sec) = elf.section_by_name("maps") {
        let data = sec.data().map_err(|e| LoadError::Elf(e.to_string()))?;
        let mut syms: Vec<_> =
            elf.symbols().filter(|s| s.section_index() == Some(sec.index())).collect();
        syms.sort_by_key(|s| s.address());
        for s in syms {
            let off = s.address() as usize;
            let field = |k: usize| {
                data.get(off.saturating_add(4 * k)..off.saturating_add(4 * k + 4))
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .ok_or_else(|| LoadError::Map(format!("legacy map at {off}: truncated")))
            };
            legacy.push((s.address(), maps.len()));
            maps.push(MapDef {
                name: s.name().unwrap_or("").to_string(),
                map_type: field(0)?,
                key_size: field(1)?,
                value_size: field(2)?,
                max_entries: field(3)?,
                flags: if data.len().saturating_sub(20) >= off { field(4)? } else { 0 },
                pinning: 0,
                inner: None,
                origin: MapOrigin::Legacy,
            });
        }
    }
    let mut data_maps: Vec<(object::SectionIndex, usize)> = Vec::new();
    for sec in elf.sections() {
        let name = sec.name().unwrap_or("");
        let is_data = matches!(name, ".data" | ".rodata" | ".bss")
            || name.starts_with(".rodata.")
            || name.starts_with(".data.");
        if !is_data || sec.size() == 0 {
            continue;
        }
        if sec.size() > MAX_DATA_SECTION {
            return Err(LoadError::Map(format!(
                "section `{name}`: {} bytes of global data, more than {} MiB",
                sec.size(),
                MAX_DATA_SECTION >> 20
            )));
        }
        let init = if sec.kind() == SectionKind::UninitializedData {
            vec![0; sec.size() as usize]
        } else {
            sec.data().map_err(|e| LoadError::Elf(e.to_string()))?.to_vec()
        };
        data_maps.push((sec.index(), maps.len()));
        maps.push(MapDef {
            name: name.to_string(),
            map_type: 2, // BPF_MAP_TYPE_ARRAY
            key_size: 4,
            value_size: init.len() as u32,
            max_entries: 1,
            // Read-only data is frozen; Linux calls that BPF_F_RDONLY_PROG.
            flags: if name.starts_with(".rodata") { 1 << 7 } else { 0 },
            pinning: 0,
            inner: None,
            origin: MapOrigin::Data { init, frozen: name.starts_with(".rodata") },
        });
    }

    // Code sections and their relocations.
    let mut code: Vec<(object::SectionIndex, Code)> = Vec::new();
    for sec in elf.sections() {
        if sec.kind() != SectionKind::Text || sec.size() == 0 {
            continue;
        }
        let name = sec.name().unwrap_or("").to_string();
        let data = sec.data().map_err(|e| LoadError::Elf(e.to_string()))?;
        if data.len() % 8 != 0 {
            return Err(LoadError::Elf(format!("section `{name}`: size not a multiple of 8")));
        }
        let insns: Vec<Insn> = data
            .chunks_exact(8)
            .map(|c| Insn::from_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let mut relocs = Vec::new();
        for (off, r) in sec.relocations() {
            let slot = off as usize / 8;
            let r_type = match r.flags() {
                object::RelocationFlags::Elf { r_type } => r_type,
                _ => 0,
            };
            if R_BPF_64_ABS.contains(&r_type) {
                continue;
            }
            let RelocationTarget::Symbol(si) = r.target() else {
                return Err(LoadError::Reloc(format!("{name}+{off}: not against a symbol")));
            };
            let sym = elf.symbol_by_index(si).map_err(|e| LoadError::Elf(e.to_string()))?;
            let sym_sec = sym.section_index();
            let sym_name = sym.name().unwrap_or("").to_string();
            let insn = insns
                .get(slot)
                .ok_or_else(|| LoadError::Reloc(format!("{name}+{off}: past the section")))?;
            let target = match r_type {
                R_BPF_64_64 if insn.code == 0x18 => {
                    let in_section = |n: &str| sym_sec == elf.section_by_name(n).map(|s| s.index());
                    if in_section(".maps") {
                        // By name: clang leaves `.maps` offsets in BTF to
                        // the loader (libbpf fixes them from the symbols).
                        let i = btf_maps
                            .iter()
                            .find(|(n, _)| *n == sym_name)
                            .map(|(_, i)| *i)
                            .ok_or_else(|| {
                                LoadError::Reloc(format!("{name}+{off}: `{sym_name}` is no map"))
                            })?;
                        Target::Map(i)
                    } else if in_section("maps") {
                        let i = legacy
                            .iter()
                            .find(|(a, _)| *a == sym.address())
                            .map(|(_, i)| *i)
                            .ok_or_else(|| {
                            LoadError::Reloc(format!("{name}+{off}: `{sym_name}` is no map"))
                        })?;
                        Target::Map(i)
                    } else if let Some(&(_, i)) =
                        data_maps.iter().find(|(s, _)| Some(*s) == sym_sec)
                    {
                        // A section symbol keeps the variable's offset in
                        // the instruction's immediate.
                        let off = if sym.kind() == object::SymbolKind::Section {
                            insn.imm as u32
                        } else {
                            (sym.address() as u32).wrapping_add(insn.imm as u32)
                        };
                        Target::Value(i, off)
                    } else {
                        return Err(LoadError::Reloc(format!(
                            "{name}+{off}: `{sym_name}` is neither a map nor global data"
                        )));
                    }
                }
                R_BPF_64_64 | R_BPF_64_32 if insn.code == 0x85 && insn.src == 1 => {
                    if sym_sec != elf.section_by_name(".text").map(|s| s.index()) {
                        return Err(LoadError::Reloc(format!(
                            "{name}+{off}: call to `{sym_name}` outside .text"
                        )));
                    }
                    let t = (sym.address() / 8) as i64 + insn.imm as i64 + 1;
                    let t = if t >= 1 << 24 { -1 } else { t };
                    Target::Text(usize::try_from(t).map_err(|_| {
                        LoadError::Reloc(format!("{name}+{off}: call target outside .text"))
                    })?)
                }
                other => {
                    return Err(LoadError::Reloc(format!(
                        "{name}+{off}: relocation type {other} on instruction {:#04x}",
                        insn.code
                    )));
                }
            };
            relocs.push((slot, target));
        }
        code.push((sec.index(), Code { name, insns, relocs }));
    }
    // CO-RE: patch the instructions against the target's BTF, or refuse.
    for (_, c) in code.iter_mut() {
        let Some(e) = ext.iter().find(|(n, _)| *n == c.name).map(|(_, e)| e) else { continue };
        for r in &e.core_relos {
            if target.is_none()
                && let Some(raw) = target_btf
            {
                target = Some(Btf::parse(raw)?);
            }
            let (Some(t), Some(local)) = (&target, &btf) else {
                return Err(LoadError::CoRe(format!(
                    "section `{}` insn {}: relocation kind {} of `{}` needs the target's BTF, \
                     which this backend does not have",
                    c.name, r.insn, r.kind, r.access
                )));
            };
            let v = btf::core_value(local, t, r).map_err(|e| {
                LoadError::CoRe(format!("section `{}` insn {}: {e}", c.name, r.insn))
            })?;
            let i = c.insns.get_mut(r.insn).ok_or_else(|| {
                LoadError::CoRe(format!("section `{}`: relocation past the code", c.name))
            })?;
            match i.code & 0x07 {
                // Loads and stores: the offset.
                0x01..=0x03 => {
                    i.off = i16::try_from(v).map_err(|_| {
                        LoadError::CoRe(format!(
                            "section `{}` insn {}: offset {v} too large",
                            c.name, r.insn
                        ))
                    })?
                }
                // ALU and lddw: the immediate.
                _ => i.imm = v as i32,
            }
        }
    }
    let text = code.iter().find(|(_, c)| c.name == ".text").map(|(_, c)| c);
    let ext_of = |sec: &str| ext.iter().find(|(n, _)| n == sec).map(|(_, e)| e);

    // Programs: each global function of a program section.
    let mut programs = Vec::new();
    for (index, c) in code.iter().filter(|(_, c)| c.name != ".text") {
        let (prog_type, attach_type, attach_to) = sections::program_type(&c.name)
            .ok_or_else(|| LoadError::UnknownSection(c.name.clone()))?;
        let mut funcs: Vec<_> = elf
            .symbols()
            .filter(|s| {
                s.section_index() == Some(*index)
                    && s.kind() == object::SymbolKind::Text
                    && s.is_global()
            })
            .collect();
        funcs.sort_by_key(|s| s.address());
        if funcs.is_empty() {
            // An anonymous program: the whole section.
            let f = (c.name.replace('/', "_"), 0, c.insns.len());
            programs.push(link(c, text, f, prog_type, attach_type, &attach_to, ext_of)?);
            continue;
        }
        for (k, s) in funcs.iter().enumerate() {
            let start = (s.address() / 8) as usize;
            let end = if s.size() > 0 {
                start.saturating_add((s.size() / 8) as usize)
            } else {
                funcs.get(k + 1).map_or(c.insns.len(), |n| (n.address() / 8) as usize)
            };
            let f = (s.name().unwrap_or("").to_string(), start, end);
            programs.push(link(c, text, f, prog_type, attach_type, &attach_to, ext_of)?);
        }
    }
    Ok(Object { license, version, maps, programs })
}

fn from_btf(m: &BtfMap) -> MapDef {
    MapDef {
        name: m.name.clone(),
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: m.flags,
        pinning: m.pinning,
        inner: m.inner.as_ref().map(|i| Box::new(from_btf(i))),
        origin: MapOrigin::Btf,
    }
}

/// Writes a relocation target into the instruction at `slot` of `insns`
/// (whose code starts at `base` in the program); `text_base` is where
/// `.text` was appended.
fn apply(
    insns: &mut [Insn],
    slot: usize,
    t: &Target,
    text_base: Option<usize>,
) -> Result<(), LoadError> {
    let needs = if matches!(t, Target::Text(_)) { 1 } else { 2 };
    if slot.checked_add(needs).is_none_or(|end| end > insns.len()) {
        return Err(LoadError::Reloc(format!("instruction {slot}: relocation past the code")));
    }
    match *t {
        Target::Map(i) => {
            insns[slot].src = 1;
            insns[slot].imm = i as i32;
            insns[slot + 1].imm = 0;
        }
        Target::Value(i, off) => {
            insns[slot].src = 2;
            insns[slot].imm = i as i32;
            insns[slot + 1].imm = off as i32;
        }
        Target::Text(t) => {
            let base = text_base
                .ok_or_else(|| LoadError::Reloc("call into .text, which is missing".into()))?;
            insns[slot].imm = (base.wrapping_add(t) as i64 - slot as i64 - 1) as i32;
        }
    }
    Ok(())
}

/// One program: its function's instructions with relocations applied,
/// then `.text` if it calls into it.
fn link<'a>(
    c: &Code,
    text: Option<&Code>,
    (name, start, end): (String, usize, usize),
    prog_type: u32,
    attach_type: u32,
    attach_to: &Option<String>,
    ext_of: impl Fn(&str) -> Option<&'a btf::SectionExt>,
) -> Result<Program, LoadError> {
    if start >= end || end > c.insns.len() {
        return Err(LoadError::Elf(format!("function `{name}`: bad bounds")));
    }
    let mut insns = c.insns[start..end].to_vec();
    let calls_text =
        c.relocs.iter().any(|(s, t)| (start..end).contains(s) && matches!(t, Target::Text(_)));
    let text_base = (calls_text && text.is_some()).then_some(insns.len());
    if let (true, Some(t)) = (calls_text, text) {
        insns.extend_from_slice(&t.insns);
    }
    for (s, t) in c.relocs.iter().filter(|(s, _)| (start..end).contains(s)) {
        apply(&mut insns, s - start, t, text_base)?;
    }
    let mut lines: Vec<Line> = ext_of(&c.name)
        .map(|e| {
            e.lines
                .iter()
                .filter(|l| (start..end).contains(&l.insn))
                .map(|l| Line { insn: l.insn - start, ..l.clone() })
                .collect()
        })
        .unwrap_or_default();
    if let (Some(base), Some(t)) = (text_base, text) {
        for (s, tg) in &t.relocs {
            apply(&mut insns, base.saturating_add(*s), tg, text_base)?;
        }
        if let Some(e) = ext_of(".text") {
            lines.extend(e.lines.iter().map(|l| Line { insn: base + l.insn, ..l.clone() }));
        }
    }
    Ok(Program {
        name,
        section: c.name.clone(),
        prog_type,
        attach_type,
        attach_to: attach_to.clone(),
        insns,
        lines,
    })
}
