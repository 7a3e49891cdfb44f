//! Just enough BTF to load objects as libbpf does: the type table of
//! `.BTF` (sizes, struct members, variables of data sections) for
//! BTF-defined maps, and the `.BTF.ext` line info (kept for verifier logs)
//! and CO-RE relocations (recognised, so that a program needing them is
//! refused with a clear error).

use crate::LoadError;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use axiom_abi::uapi::btf::{BTF_MAGIC, kind};

/// One BTF type: its kind, name, the `size`/`type` field, and the
/// kind-specific records.
#[derive(Clone, Debug)]
pub struct Type {
    /// `BTF_KIND_*`.
    pub kind: u32,
    /// The name (may be empty).
    pub name: String,
    /// `size` (ints, structs, datasecs...) or `type` (pointers, typedefs,
    /// variables...).
    pub size_or_type: u32,
    /// Struct/union members and datasec variables as (name, type, offset
    /// or size) triples; for arrays one entry (elem type, index type,
    /// nelems).
    pub members: Vec<(String, u32, u32)>,
    /// `kind_flag` (for structs: member offsets carry bitfield sizes).
    pub kflag: bool,
}

/// A parsed `.BTF` section.
#[derive(Clone, Debug, Default)]
pub struct Btf {
    /// Types by id (index 0 is `void`).
    pub types: Vec<Type>,
    strings: Vec<u8>,
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, LoadError> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| LoadError::Btf(format!("truncated at byte {off}")))
}

impl Btf {
    /// Parses a `.BTF` section (little-endian).
    pub fn parse(b: &[u8]) -> Result<Btf, LoadError> {
        let magic = b.get(0..2).map(|m| u16::from_le_bytes([m[0], m[1]]));
        if magic != Some(BTF_MAGIC) {
            return Err(LoadError::Btf("bad magic (not little-endian BTF)".into()));
        }
        let hdr_len = u32_at(b, 4)? as usize;
        let (type_off, type_len) = (u32_at(b, 8)? as usize, u32_at(b, 12)? as usize);
        let (str_off, str_len) = (u32_at(b, 16)? as usize, u32_at(b, 20)? as usize);
        let types_bytes = b
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or_else(|| LoadError::Btf("type section out of bounds".into()))?;
        let strings = b
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or_else(|| LoadError::Btf("string section out of bounds".into()))?
            .to_vec();
        let mut btf = Btf { types: Vec::new(), strings };
        btf.types.push(Type {
            kind: kind::UNKN,
            name: String::new(),
            size_or_type: 0,
            members: Vec::new(),
            kflag: false,
        });
        let t = types_bytes;
        let mut off = 0;
        while off < t.len() {
            let name_off = u32_at(t, off)?;
            let info = u32_at(t, off + 4)?;
            let size_or_type = u32_at(t, off + 8)?;
            off += 12;
            let k = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let mut members = Vec::new();
            match k {
                kind::INT | kind::VAR | kind::DECL_TAG => off += 4,
                kind::ARRAY => {
                    members.push((String::new(), u32_at(t, off)?, u32_at(t, off + 8)?));
                    off += 12;
                }
                kind::STRUCT | kind::UNION | kind::DATASEC => {
                    for _ in 0..vlen {
                        let (a, ty, c) =
                            (u32_at(t, off)?, u32_at(t, off + 4)?, u32_at(t, off + 8)?);
                        // Datasec entries are (type, offset, size).
                        let entry = if k == kind::DATASEC {
                            (String::new(), a, ty)
                        } else {
                            (btf.str(a)?, ty, c)
                        };
                        let _ = c;
                        members.push(entry);
                        off += 12;
                    }
                }
                kind::ENUM | kind::FUNC_PROTO => off += 8 * vlen,
                kind::ENUM64 => off += 12 * vlen,
                kind::PTR
                | kind::FWD
                | kind::TYPEDEF
                | kind::VOLATILE
                | kind::CONST
                | kind::RESTRICT
                | kind::FUNC
                | kind::FLOAT
                | kind::TYPE_TAG => {}
                other => return Err(LoadError::Btf(format!("unknown BTF kind {other}"))),
            }
            if off > t.len() {
                return Err(LoadError::Btf("truncated type section".into()));
            }
            let kflag = info & (1 << 31) != 0;
            btf.types.push(Type {
                kind: k,
                name: btf.str(name_off)?,
                size_or_type,
                members,
                kflag,
            });
        }
        Ok(btf)
    }

    /// The string at `off` of the string section.
    pub fn str(&self, off: u32) -> Result<String, LoadError> {
        let rest = self
            .strings
            .get(off as usize..)
            .ok_or_else(|| LoadError::Btf(format!("string offset {off} out of bounds")))?;
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    /// Type `id`.
    pub fn get(&self, id: u32) -> Result<&Type, LoadError> {
        self.types.get(id as usize).ok_or_else(|| LoadError::Btf(format!("no type {id}")))
    }

    /// `id` with typedefs and qualifiers stripped.
    pub fn resolve(&self, mut id: u32) -> Result<u32, LoadError> {
        for _ in 0..32 {
            let t = self.get(id)?;
            match t.kind {
                kind::TYPEDEF | kind::VOLATILE | kind::CONST | kind::RESTRICT | kind::TYPE_TAG => {
                    id = t.size_or_type
                }
                _ => return Ok(id),
            }
        }
        Err(LoadError::Btf(format!("type {id}: qualifier chain too long")))
    }

    /// The size in bytes of type `id`.
    pub fn size_of(&self, id: u32) -> Result<u32, LoadError> {
        self.size_at_depth(id, 0)
    }

    fn size_at_depth(&self, id: u32, depth: u32) -> Result<u32, LoadError> {
        if depth > 32 {
            return Err(LoadError::Btf(format!("type {id}: arrays nested too deeply")));
        }
        let id = self.resolve(id)?;
        let t = self.get(id)?;
        Ok(match t.kind {
            kind::PTR => 8,
            kind::ARRAY => {
                let (_, elem, n) = &t.members[0];
                self.size_at_depth(*elem, depth + 1)?.saturating_mul(*n)
            }
            _ => t.size_or_type,
        })
    }

    /// The id of the data section named `name`, if any.
    pub fn datasec(&self, name: &str) -> Option<u32> {
        (1..self.types.len() as u32).find(|&i| {
            self.types[i as usize].kind == kind::DATASEC && self.types[i as usize].name == name
        })
    }
}

/// A map as a BTF-defined `.maps` variable declares it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BtfMap {
    /// The variable's name.
    pub name: String,
    /// Its offset in `.maps` (relocations point there).
    pub offset: u32,
    /// `__uint(type, ...)`.
    pub map_type: u32,
    /// `__uint(max_entries, ...)`.
    pub max_entries: u32,
    /// From `__type(key, ...)` or `__uint(key_size, ...)`.
    pub key_size: u32,
    /// From `__type(value, ...)` or `__uint(value_size, ...)`.
    pub value_size: u32,
    /// `__uint(map_flags, ...)`.
    pub flags: u32,
    /// `__uint(pinning, ...)`.
    pub pinning: u32,
    /// The inner map of a map-in-map (`__array(values, ...)`).
    pub inner: Option<alloc::boxed::Box<BtfMap>>,
}

impl Btf {
    /// The maps of the `.maps` data section.
    pub fn maps(&self) -> Result<Vec<BtfMap>, LoadError> {
        let Some(sec) = self.datasec(".maps") else { return Ok(Vec::new()) };
        let mut maps = Vec::new();
        for (_, var, offset) in self.get(sec)?.members.clone() {
            let v = self.get(var)?;
            if v.kind != kind::VAR {
                return Err(LoadError::Btf(format!("`.maps` entry {var} is not a variable")));
            }
            let mut m = self.map_def(v.size_or_type, &v.name, 0)?;
            m.offset = offset;
            maps.push(m);
        }
        Ok(maps)
    }

    /// A map definition struct (`struct { __uint(type, ...); ... }`).
    fn map_def(&self, struct_id: u32, name: &str, depth: u32) -> Result<BtfMap, LoadError> {
        if depth > 2 {
            return Err(LoadError::Map(format!("map `{name}`: inner maps nested too deeply")));
        }
        let s = self.get(self.resolve(struct_id)?)?;
        if s.kind != kind::STRUCT {
            return Err(LoadError::Map(format!("map `{name}`: definition is not a struct")));
        }
        let mut m = BtfMap { name: name.to_string(), ..BtfMap::default() };
        for (field, ty, _) in &s.members {
            // `__uint(f, v)` is `int (*f)[v]`; `__type(f, T)` is `T *f`.
            let ptr = self.get(self.resolve(*ty)?)?;
            if ptr.kind != kind::PTR {
                return Err(LoadError::Map(format!(
                    "map `{name}`: field `{field}` is not a pointer"
                )));
            }
            let target = self.get(self.resolve(ptr.size_or_type)?)?;
            let uint = || -> Result<u32, LoadError> {
                if target.kind == kind::ARRAY {
                    Ok(target.members[0].2)
                } else {
                    Err(LoadError::Map(format!("map `{name}`: field `{field}` is not __uint()")))
                }
            };
            match field.as_str() {
                "type" => m.map_type = uint()?,
                "max_entries" => m.max_entries = uint()?,
                "map_flags" => m.flags = uint()?,
                "pinning" => m.pinning = uint()?,
                "key_size" => m.key_size = uint()?,
                "value_size" => m.value_size = uint()?,
                "key" => m.key_size = self.size_of(ptr.size_or_type)?,
                "value" => m.value_size = self.size_of(ptr.size_or_type)?,
                "values" => {
                    // `__array(values, struct inner_def)`: an array of
                    // pointers to the inner definition.
                    if target.kind == kind::ARRAY {
                        let elem = self.get(self.resolve(target.members[0].1)?)?;
                        if elem.kind == kind::PTR {
                            let inner = self.map_def(elem.size_or_type, name, depth + 1)?;
                            m.inner = Some(alloc::boxed::Box::new(inner));
                        }
                    }
                    // Linux sizes a map-in-map's values as a u32 fd.
                    m.value_size = 4;
                }
                other => {
                    return Err(LoadError::Map(format!("map `{name}`: unknown field `{other}`")));
                }
            }
        }
        Ok(m)
    }
}

/// One line-info record: the instruction (in slots, within its section)
/// and the source line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Instruction slot within the section.
    pub insn: usize,
    /// The source line's text.
    pub source: String,
    /// The file name.
    pub file: String,
    /// The line number.
    pub line: u32,
}

/// A CO-RE relocation record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreRelo {
    /// Instruction slot within the section.
    pub insn: usize,
    /// The local (object's) BTF type the access starts from.
    pub type_id: u32,
    /// The access string (`0:1:2`: indices into the type).
    pub access: String,
    /// libbpf's relocation kind (0: field byte offset...).
    pub kind: u32,
}

/// What `.BTF.ext` says about one section.
#[derive(Clone, Debug, Default)]
pub struct SectionExt {
    /// Line info, sorted by instruction.
    pub lines: Vec<Line>,
    /// CO-RE relocations.
    pub core_relos: Vec<CoreRelo>,
}

/// Parses `.BTF.ext`: line info and CO-RE relocation records per section
/// name.
pub fn parse_ext(b: &[u8], btf: &Btf) -> Result<Vec<(String, SectionExt)>, LoadError> {
    let magic = b.get(0..2).map(|m| u16::from_le_bytes([m[0], m[1]]));
    if magic != Some(BTF_MAGIC) {
        return Err(LoadError::Btf(".BTF.ext: bad magic".into()));
    }
    let hdr_len = u32_at(b, 4)? as usize;
    let mut out: Vec<(String, SectionExt)> = Vec::new();
    let entry = |name: String, out: &mut Vec<(String, SectionExt)>| -> usize {
        match out.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                out.push((name, SectionExt::default()));
                out.len() - 1
            }
        }
    };
    // (offset field, length field, which table): line info at 16/20, CO-RE
    // relocations at 24/28 when the header is long enough.
    let mut tables = alloc::vec![(16usize, 20usize, 1u8)];
    if hdr_len >= 32 {
        tables.push((24, 28, 2));
    }
    for (off_field, len_field, which) in tables {
        let (off, len) = (u32_at(b, off_field)? as usize, u32_at(b, len_field)? as usize);
        if len == 0 {
            continue;
        }
        let t = b
            .get(hdr_len + off..hdr_len + off + len)
            .ok_or_else(|| LoadError::Btf(".BTF.ext: table out of bounds".into()))?;
        let rec_size = u32_at(t, 0)? as usize;
        if rec_size < 16 {
            return Err(LoadError::Btf(format!(".BTF.ext: record size {rec_size}")));
        }
        let mut p = 4;
        while p < t.len() {
            let sec = btf.str(u32_at(t, p)?)?;
            let n = u32_at(t, p + 4)? as usize;
            p += 8;
            let i = entry(sec, &mut out);
            for _ in 0..n {
                let insn = u32_at(t, p)? as usize / 8;
                let (a, c, d) = (u32_at(t, p + 4)?, u32_at(t, p + 8)?, u32_at(t, p + 12)?);
                if which == 1 {
                    out[i].1.lines.push(Line {
                        insn,
                        file: btf.str(a)?,
                        source: btf.str(c)?,
                        line: d >> 10,
                    });
                } else {
                    out[i].1.core_relos.push(CoreRelo {
                        insn,
                        type_id: a,
                        access: btf.str(c)?,
                        kind: d,
                    });
                }
                p += rec_size;
            }
        }
    }
    for (_, e) in out.iter_mut() {
        e.lines.sort_by_key(|l| l.insn);
    }
    Ok(out)
}

/// The kinds of CO-RE relocation Axiom applies.
pub mod core_kind {
    /// `FIELD_BYTE_OFFSET`.
    pub const FIELD_BYTE_OFFSET: u32 = 0;
    /// `FIELD_BYTE_SIZE`.
    pub const FIELD_BYTE_SIZE: u32 = 1;
    /// `FIELD_EXISTS`.
    pub const FIELD_EXISTS: u32 = 2;
    /// `TYPE_EXISTS`.
    pub const TYPE_EXISTS: u32 = 8;
    /// `TYPE_SIZE`.
    pub const TYPE_SIZE: u32 = 9;
}

/// A name without libbpf's `___flavour` suffix.
fn essential(name: &str) -> &str {
    name.find("___").map_or(name, |i| &name[..i])
}

impl Btf {
    /// The bit offset and type of member `name` of struct/union `id`,
    /// looking through anonymous members.
    fn member(&self, id: u32, name: &str) -> Option<(u32, u32)> {
        self.member_at_depth(id, name, 0)
    }

    fn member_at_depth(&self, id: u32, name: &str, depth: u32) -> Option<(u32, u32)> {
        if depth > 16 {
            return None;
        }
        let t = self.get(self.resolve(id).ok()?).ok()?;
        if !matches!(t.kind, kind::STRUCT | kind::UNION) {
            return None;
        }
        for (n, ty, off) in &t.members {
            let bits = if t.kflag { off & 0xff_ffff } else { *off };
            if n == name {
                return Some((bits, *ty));
            }
            if n.is_empty()
                && let Some((inner, ty2)) = self.member_at_depth(*ty, name, depth + 1)
            {
                return Some((bits.saturating_add(inner), ty2));
            }
        }
        None
    }
}

/// The value a CO-RE relocation resolves to against `target`: a field's
/// byte offset or size, whether it exists, a type's existence or size.
/// `Ok(None)` when the field or type does not exist in the target (for
/// the `*_EXISTS` kinds that is the value 0).
pub fn core_value(local: &Btf, target: &Btf, r: &CoreRelo) -> Result<u32, String> {
    let root = local.get(r.type_id).map_err(|e| e.to_string())?;
    let name = essential(&root.name);
    let indices: Vec<u32> = r
        .access
        .split(':')
        .map(|x| x.parse::<u32>().map_err(|_| format!("bad access string `{}`", r.access)))
        .collect::<Result<_, _>>()?;
    let candidates: Vec<u32> = (1..target.types.len() as u32)
        .filter(|&i| {
            let t = &target.types[i as usize];
            t.kind == root.kind && essential(&t.name) == name && !name.is_empty()
        })
        .collect();
    let exists_kind = matches!(r.kind, core_kind::FIELD_EXISTS | core_kind::TYPE_EXISTS);
    if candidates.is_empty() {
        return if exists_kind {
            Ok(0)
        } else {
            Err(format!("no type `{name}` in the target's BTF"))
        };
    }
    match r.kind {
        core_kind::TYPE_EXISTS => return Ok(1),
        core_kind::TYPE_SIZE => return target.size_of(candidates[0]).map_err(|e| e.to_string()),
        core_kind::FIELD_BYTE_OFFSET | core_kind::FIELD_BYTE_SIZE | core_kind::FIELD_EXISTS => {}
        other => return Err(format!("relocation kind {other} is not supported by Axiom yet")),
    }
    'candidates: for cand in candidates {
        // Index 0 steps over the root pointer; then members by name.
        let (mut local_ty, mut target_ty) = (r.type_id, cand);
        let mut bits = indices[0]
            .saturating_mul(8)
            .saturating_mul(target.size_of(cand).map_err(|e| e.to_string())?);
        for &i in &indices[1..] {
            let lt = local
                .get(local.resolve(local_ty).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            match lt.kind {
                kind::STRUCT | kind::UNION => {
                    let Some((member, ty, _)) = lt.members.get(i as usize) else {
                        return Err(format!("access `{}`: no member {i}", r.access));
                    };
                    let Some((off, tty)) = target.member(target_ty, member) else {
                        continue 'candidates;
                    };
                    bits = bits.saturating_add(off);
                    local_ty = *ty;
                    target_ty = tty;
                }
                kind::ARRAY => {
                    let tt = target
                        .get(target.resolve(target_ty).map_err(|e| e.to_string())?)
                        .map_err(|e| e.to_string())?;
                    if tt.kind != kind::ARRAY {
                        continue 'candidates;
                    }
                    let elem = tt.members[0].1;
                    let size = target.size_of(elem).map_err(|e| e.to_string())?;
                    bits = bits.saturating_add(i.saturating_mul(8).saturating_mul(size));
                    local_ty = lt.members[0].1;
                    target_ty = elem;
                }
                _ => return Err(format!("access `{}`: not a struct, union or array", r.access)),
            }
        }
        return Ok(match r.kind {
            core_kind::FIELD_BYTE_OFFSET => bits / 8,
            core_kind::FIELD_BYTE_SIZE => target.size_of(target_ty).map_err(|e| e.to_string())?,
            _ => 1,
        });
    }
    if r.kind == core_kind::FIELD_EXISTS {
        Ok(0)
    } else {
        Err(format!("`{name}` has no field at `{}` in the target's BTF", r.access))
    }
}
