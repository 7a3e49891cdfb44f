//! Programs: `BPF_PROG_LOAD` (Linux's checks and log rules, Axiom's
//! verifier, the JIT), `BPF_PROG_TEST_RUN` for socket filters and XDP
//! (with the contexts of [`crate::ctx`]), program info,
//! `BPF_PROG_GET_NEXT_ID` and `BPF_PROG_GET_FD_BY_ID`.

use crate::ctx::{SkbCtx, XdpCtx};
use crate::env::{
    Attr, Env, PAGE, check_attr, next_id_start, prog_of, read_user_string, write_next_id,
};
use crate::object::{MapObject, ProgObject};
use crate::registry::{Object, Registry, by_id, next_live_id};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::Insn;
use axiom_abi::instruction::Pseudo;
use axiom_abi::opcode::{class, mode, pseudo, size};
use axiom_abi::uapi::attr::{GetIdAttr, InfoAttr, ProgInfo, ProgLoadAttr, TestRunAttr};
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::types::prog_type;
use axiom_jit::program::JitEnv;
use core::mem::offset_of;

/// The most instructions a program may have (Linux's limit for loaders
/// with `CAP_BPF`).
const MAX_INSNS: u32 = 1_000_000;
/// `BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED`.
const LOG_MASK: u32 = 15;

/// `lddw`'s opcode.
const LDDW: u8 = class::LD | mode::IMM | size::DW;
/// `ldxdw` and `ldxw`: 64- and 32-bit loads from memory.
const LDXDW: u8 = class::LDX | mode::MEM | size::DW;
const LDXW: u8 = class::LDX | mode::MEM | size::W;

/// Whether `i` is the first slot of an `lddw` of a map (by fd) or of a
/// map's value.
fn is_map_load(i: &Insn) -> bool {
    i.code == LDDW && (i.src == pseudo::MAP_FD || i.src == pseudo::MAP_VALUE)
}

/// Rewrites context accesses for [`XdpCtx`]: the 32-bit `data`,
/// `data_end` and `data_meta` loads become 64-bit loads of its pointers,
/// the other fields move to their places (Linux's `convert_ctx_accesses`).
/// Socket filters see `struct __sk_buff` as it is.
pub fn rewrite_ctx(
    insns: &[Insn],
    prog_type: u32,
    ctx_accesses: &[usize],
) -> Result<Vec<Insn>, String> {
    let mut out = insns.to_vec();
    if prog_type != prog_type::XDP {
        return Ok(out);
    }
    for &pc in ctx_accesses {
        let i = &mut out[pc];
        let (off, code) = match i.off {
            0 => (0, LDXDW),
            4 => (8, LDXDW),
            8 => (16, LDXDW),
            12 => (24, LDXW),
            16 => (28, LDXW),
            20 => (32, LDXW),
            other => return Err(format!("insn {pc}: xdp_md field at {other} not supported")),
        };
        if i.code != LDXW {
            return Err(format!("insn {pc}: context access {:#04x} not supported", i.code));
        }
        i.code = code;
        i.off = off;
    }
    Ok(out)
}

/// Linux's program tag: the first 8 bytes of the SHA-256 of the
/// instructions as loaded (Linux 6.18; SHA-1 before), with the
/// immediates of map loads (`lddw` of a map fd or map value, both halves)
/// zeroed, so the tag does not depend on descriptor numbers.
pub fn tag(insns: &[Insn]) -> [u8; 8] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut was_map_load = false;
    for i in insns {
        let mut i = *i;
        if !was_map_load && is_map_load(&i) {
            was_map_load = true;
            i.imm = 0;
        } else if was_map_load && i.code == 0 && i.dst == 0 && i.src == 0 && i.off == 0 {
            // Its second slot: all zero but the immediate.
            was_map_load = false;
            i.imm = 0;
        } else {
            was_map_load = false;
        }
        hasher.update(i.to_bytes());
    }
    let digest = hasher.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// Licences whose programs may call GPL-only helpers (Linux's list).
fn gpl_compatible(license: &str) -> bool {
    matches!(
        license,
        "GPL"
            | "GPL v2"
            | "GPL and additional rights"
            | "Dual BSD/GPL"
            | "Dual MIT/GPL"
            | "Dual MPL/GPL"
    )
}

/// The program's maps, by the fds its `lddw` instructions name.
struct Maps(Vec<(i32, Arc<MapObject>)>);

/// What the JIT needs: helper addresses (the callable table's) and map
/// addresses.
struct Jit<'a> {
    maps: &'a Maps,
}

impl JitEnv for Jit<'_> {
    fn helper_address(&self, id: i32) -> Option<u64> {
        crate::callable::address(id)
    }

    fn resolve_lddw(&self, kind: Pseudo, imm: i32, next_imm: i32) -> Option<u64> {
        let (_, m) = self.maps.0.iter().find(|(fd, _)| *fd == imm)?;
        let map = m.map.lock();
        match kind {
            // Helpers get the object (they take its lock); tail calls read a
            // program array's table directly.
            Pseudo::MapFd if map.spec.map_type == axiom_abi::uapi::types::map_type::PROG_ARRAY => {
                Some(map.program_address())
            }
            Pseudo::MapFd => Some(Arc::as_ptr(m) as u64),
            Pseudo::MapValue => Some(map.value_address()? + next_imm as u32 as u64),
            _ => None,
        }
    }
}

/// `BPF_PROG_LOAD`: a program object without its id yet.
fn load(env: &mut dyn Env, uattr: u64, attr: &Attr) -> Result<ProgObject, Errno> {
    check_attr(attr, ProgLoadAttr::SIZE)?;
    let a = ProgLoadAttr::from_bytes(attr);
    // BPF_F_STRICT_ALIGNMENT, BPF_F_ANY_ALIGNMENT, BPF_F_TEST_RND_HI32,
    // BPF_F_TEST_STATE_FREQ: accepted (alignment is not enforced beyond
    // what the verifier checks).
    if a.prog_flags & !15 != 0 {
        return Err(Errno::EINVAL);
    }
    if a.insn_cnt == 0 || a.insn_cnt > MAX_INSNS {
        return Err(Errno::E2BIG);
    }
    // Not yet: BTF (function and line info, CO-RE), fd_array, offload,
    // attachment targets, tokens, signatures.
    if a.prog_btf_fd != 0
        || a.func_info_cnt != 0
        || a.line_info_cnt != 0
        || a.fd_array != 0
        || a.prog_ifindex != 0
        || a.attach_btf_id != 0
        || a.attach_prog_fd != 0
        || a.core_relo_cnt != 0
        || a.prog_token_fd != 0
        || a.signature != 0
    {
        return Err(Errno::EINVAL);
    }
    if a.prog_name[15] != 0 {
        return Err(Errno::EINVAL);
    }
    // The log: a buffer and a size together, a known level, a level when
    // there is a buffer.
    if a.log_level & !LOG_MASK != 0
        || (a.log_buf != 0) != (a.log_size != 0)
        || (a.log_level != 0 && a.log_buf == 0)
        || (a.log_level == 0 && a.log_buf != 0)
        || a.log_size > u32::MAX >> 2
    {
        return Err(Errno::EINVAL);
    }
    let license = read_user_string(env, a.license, 128)?.ok_or(Errno::EINVAL)?;
    let license = String::from_utf8_lossy(&license);
    let mut raw = vec![0u8; a.insn_cnt as usize * 8];
    env.read_user(a.insns, &mut raw)?;
    let insns: Vec<Insn> =
        raw.chunks_exact(8).map(|c| Insn::from_bytes(c.try_into().unwrap_or([0; 8]))).collect();
    // The maps the program names by fd (the verifier checks the forms).
    let mut maps = Maps(Vec::new());
    for (i, insn) in insns.iter().enumerate() {
        if is_map_load(insn) && i + 1 < insns.len() {
            let fd = insn.imm;
            if !maps.0.iter().any(|(f, _)| *f == fd) {
                let m = match env.object(fd as u32) {
                    Ok(Object::Map(m)) => m.object().clone(),
                    _ => return Err(Errno::EBADF),
                };
                maps.0.push((fd, m));
            }
        }
    }
    let platform = crate::verify::KernelPlatform {
        maps_by_fd: maps
            .0
            .iter()
            .map(|(fd, m)| {
                let map = m.map.lock();
                let info = axiom_verifier::platform::MapInfo {
                    map_type: map.spec.map_type,
                    key_size: map.spec.key_size,
                    value_size: map.spec.value_size,
                    max_entries: map.spec.max_entries,
                    read_only: map.frozen || map.spec.flags & 128 != 0,
                };
                (*fd, info)
            })
            .collect(),
        maps_by_index: Vec::new(),
        possible_cpus: Some(env.possible_cpus()),
    };
    let opts = axiom_verifier::Options {
        log_level: a.log_level & 3,
        log_size: a.log_size,
        allow_uninit_stack: env.privileged(),
        ..axiom_verifier::Options::default()
    };
    let report = axiom_verifier::verify(&insns, a.prog_type, &platform, &opts);
    // The log goes back whatever the verdict, NUL-terminated within the
    // buffer, and its full size in `log_true_size`.
    if a.log_level != 0 {
        let bytes = report.log.as_bytes();
        let n = bytes.len().min(a.log_size as usize - 1);
        env.write_user(a.log_buf, &bytes[..n])?;
        env.write_user(a.log_buf + n as u64, &[0])?;
        let true_size = (report.log.len() + 1) as u32;
        env.write_user(
            uattr + offset_of!(ProgLoadAttr, log_true_size) as u64,
            &true_size.to_le_bytes(),
        )?;
    }
    let verified = report.result.map_err(|e| Errno(e.errno))?;
    // Every program a program array holds has one type (Linux's owner
    // check): a program of another type using the array is refused.
    for (_, m) in &maps.0 {
        if m.map.lock().spec.map_type == axiom_abi::uapi::types::map_type::PROG_ARRAY {
            m.claim_owner(a.prog_type)?;
        }
    }
    let insns_run =
        rewrite_ctx(&insns, a.prog_type, &verified.ctx_accesses).map_err(|_| Errno::EINVAL)?;
    let jit = Jit { maps: &maps };
    let opts = env.jit_options();
    #[cfg(target_arch = "aarch64")]
    let image = axiom_jit::aarch64::compile(&insns_run, &jit, &opts);
    #[cfg(not(target_arch = "aarch64"))]
    let image = axiom_jit::x86_64::compile(&insns_run, &jit, &opts);
    // Every helper the verifier allows has code (the callable table's
    // consistency test), so a JIT failure is the JIT's limit.
    let image = image.map_err(|_| Errno::EINVAL)?;
    let code = env.load_code(image)?;
    Ok(ProgObject {
        id: 0,
        tag: tag(&insns),
        name: a.prog_name,
        prog_type: a.prog_type,
        insns,
        code,
        maps: maps.0.into_iter().map(|(_, m)| m).collect(),
        verified_insns: verified.processed.min(u32::MAX as u64) as u32,
        gpl: gpl_compatible(&license),
        load_time: env.now_ns(),
    })
}

/// `BPF_PROG_TEST_RUN` for socket filters (the packet after its Ethernet
/// header, `skb->len` and `skb->protocol` set) and XDP (the whole frame).
pub(crate) fn test_run(env: &mut dyn Env, uattr: u64, attr: &Attr) -> Result<u64, Errno> {
    check_attr(attr, TestRunAttr::SIZE)?;
    let a = TestRunAttr::from_bytes(attr);
    let p = prog_of(env, a.prog_fd)?;
    if a.flags != 0
        || a.cpu != 0
        || a.batch_size != 0
        || a.ctx_in != 0
        || a.ctx_out != 0
        || a.ctx_size_in != 0
        || a.ctx_size_out != 0
    {
        return Err(Errno::EINVAL);
    }
    if a.data_size_in as usize > PAGE * 16 {
        return Err(Errno::EINVAL);
    }
    let mut data = vec![0u8; a.data_size_in as usize];
    env.read_user(a.data_in, &mut data)?;
    let repeat = a.repeat.max(1);
    let start = env.now_ns();
    let mut r0 = 0;
    let run = crate::platform::ProgramRun::begin();
    match p.prog_type {
        prog_type::SOCKET_FILTER => {
            let mut ctx = SkbCtx::for_frame(&data).ok_or(Errno::EINVAL)?;
            let ctx_addr = &mut *ctx as *mut SkbCtx as u64;
            for _ in 0..repeat {
                r0 = p.code.run(ctx_addr);
            }
        }
        prog_type::XDP => {
            if data.len() < 14 {
                return Err(Errno::EINVAL);
            }
            let mut ctx = XdpCtx::for_frame(&mut data);
            let ctx_addr = &mut *ctx as *mut XdpCtx as u64;
            for _ in 0..repeat {
                r0 = p.code.run(ctx_addr);
            }
        }
        _ => return Err(Errno::ENOTSUPP),
    }
    let duration = ((env.now_ns() - start) / repeat as u64).min(u32::MAX as u64) as u32;
    drop(run);
    for m in &p.maps {
        m.map.lock().collect();
    }
    let mut result = Ok(0);
    if a.data_out != 0 {
        let n = data.len().min(a.data_size_out as usize);
        if n < data.len() {
            result = Err(Errno::ENOSPC);
        }
        env.write_user(a.data_out, &data[..n])?;
    }
    env.write_user(uattr + offset_of!(TestRunAttr, retval) as u64, &(r0 as u32).to_le_bytes())?;
    env.write_user(
        uattr + offset_of!(TestRunAttr, data_size_out) as u64,
        &(data.len() as u32).to_le_bytes(),
    )?;
    env.write_user(uattr + offset_of!(TestRunAttr, duration) as u64, &duration.to_le_bytes())?;
    result
}

/// `BPF_OBJ_GET_INFO_BY_FD` for a program: its type, id, name, sizes, map
/// ids and (when asked, with room) its translated instructions and
/// machine code length.
pub(crate) fn info(
    env: &mut dyn Env,
    uattr: u64,
    a: &InfoAttr,
    p: &ProgObject,
) -> Result<u64, Errno> {
    let len = a.info_len as usize;
    if len > PAGE {
        return Err(Errno::E2BIG);
    }
    let mut user = vec![0u8; ProgInfo::SIZE];
    let known = len.min(ProgInfo::SIZE);
    env.read_user(a.info, &mut user[..known])?;
    if len > ProgInfo::SIZE {
        let mut tail = vec![0u8; len - ProgInfo::SIZE];
        env.read_user(a.info + ProgInfo::SIZE as u64, &mut tail)?;
        if tail.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let asked = ProgInfo::from_bytes(&user);
    let xlated: Vec<u8> = p.insns.iter().flat_map(|i| i.to_bytes()).collect();
    let mut info = ProgInfo {
        type_: p.prog_type,
        id: p.id,
        tag: p.tag,
        jited_prog_len: p.code.len() as u32,
        xlated_prog_len: xlated.len() as u32,
        load_time: p.load_time,
        nr_map_ids: p.maps.len() as u32,
        name: p.name,
        gpl_compatible: p.gpl as u32,
        verified_insns: p.verified_insns,
        ..ProgInfo::default()
    };
    // Arrays the caller asked for, as much as its buffers hold.
    if asked.xlated_prog_insns != 0 {
        let n = xlated.len().min(asked.xlated_prog_len as usize);
        env.write_user(asked.xlated_prog_insns, &xlated[..n])?;
        info.xlated_prog_insns = asked.xlated_prog_insns;
    }
    if asked.jited_prog_insns != 0 {
        let code = p.code.bytes();
        let n = code.len().min(asked.jited_prog_len as usize);
        env.write_user(asked.jited_prog_insns, &code[..n])?;
        info.jited_prog_insns = asked.jited_prog_insns;
    }
    if asked.map_ids != 0 {
        let ids: Vec<u8> = p
            .maps
            .iter()
            .take(asked.nr_map_ids as usize)
            .flat_map(|m| m.id.to_le_bytes())
            .collect();
        env.write_user(asked.map_ids, &ids)?;
        info.map_ids = asked.map_ids;
    }
    let mut bytes = vec![0u8; ProgInfo::SIZE];
    info.write_to(&mut bytes);
    env.write_user(a.info, &bytes[..known])?;
    env.write_user(uattr + 4, &(known as u32).to_le_bytes())?;
    Ok(0)
}

impl Registry {
    /// `BPF_PROG_LOAD`: the program as an object with its id, and a
    /// descriptor for it.
    pub(crate) fn prog_load(
        &self,
        env: &mut dyn Env,
        uattr: u64,
        attr: &Attr,
    ) -> Result<u64, Errno> {
        let object = self.register_prog(load(env, uattr, attr)?);
        env.install(Object::Prog(object)).map(u64::from)
    }

    /// `BPF_PROG_GET_NEXT_ID`.
    pub(crate) fn prog_next_id(
        &self,
        env: &mut dyn Env,
        uattr: u64,
        attr: &Attr,
    ) -> Result<u64, Errno> {
        let next = next_live_id(&self.progs.lock(), next_id_start(attr)?)?;
        write_next_id(env, uattr, next)
    }

    /// `BPF_PROG_GET_FD_BY_ID`.
    pub(crate) fn prog_fd_by_id(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, GetIdAttr::SIZE)?;
        let a = GetIdAttr::from_bytes(attr);
        if a.open_flags != 0 || a.fd_by_id_token_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let object = by_id(&self.progs, a.start_id).ok_or(Errno::ENOENT)?;
        env.install(Object::Prog(object)).map(u64::from)
    }
}
