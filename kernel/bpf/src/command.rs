//! The `bpf()` system call's command layer, shared by the kernel and the
//! host tests: Linux's `bpf_attr` size rules, the per-command checks, and
//! the map commands over reference-counted objects with ids. Everything
//! that touches a process (its memory, its file descriptors) goes through
//! [`Env`], so the same code serves the kernel's system call and a test's
//! fake process. Every attribute is treated as hostile: bad sizes, fds,
//! pointers and flags are errors with Linux's numbers, never a fault.
//!
//! Today: `MAP_CREATE`, `MAP_LOOKUP_ELEM`, `MAP_UPDATE_ELEM`,
//! `MAP_DELETE_ELEM`, `MAP_GET_NEXT_KEY`, `MAP_LOOKUP_AND_DELETE_ELEM`,
//! `MAP_FREEZE`, `MAP_GET_NEXT_ID`, `MAP_GET_FD_BY_ID`, `PROG_LOAD`
//! (Axiom's verifier with Linux's log rules, then the JIT through
//! [`Env::load_code`]), `PROG_TEST_RUN` (socket filters and XDP),
//! `PROG_GET_NEXT_ID`, `PROG_GET_FD_BY_ID` and `OBJ_GET_INFO_BY_FD`;
//! other commands return `EINVAL` (as Linux does for commands it does not
//! know) until they arrive.

use crate::maps::{Map, MapSpec};
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::uapi::attr::{
    BPF_ATTR_SIZE, GetIdAttr, InfoAttr, MapCreateAttr, MapElemAttr, MapInfo, ObjAttr,
};
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::types::{cmd, map_type as mt};
use core::mem::offset_of;
use core::sync::atomic::{AtomicU32, Ordering};

/// The largest attribute Linux reads (a page).
pub(crate) const PAGE: usize = 4096;

/// A map as a kernel object.
pub struct MapObject {
    /// Its id (`BPF_MAP_GET_NEXT_ID` order).
    pub id: u32,
    /// Its name (`map_name`, NUL-padded).
    pub name: [u8; 16],
    /// The map (locked with interrupts off: hook programs use it from
    /// interrupt handlers).
    pub map: crate::platform::IrqMutex<Map>,
    /// Descriptors and pins holding it (see [`MapRef`]).
    pub(crate) users: core::sync::atomic::AtomicUsize,
    /// A program array's programs (empty for other maps).
    pub(crate) prog_slots: spin::Mutex<crate::prog_array::ProgSlots>,
}

pub use crate::prog_array::MapRef;

/// Code a platform placed for running (the kernel's read+execute pages,
/// a host's mapping).
pub trait Code: Send + Sync {
    /// Runs it with `ctx` in r1; its r0.
    fn run(&self, ctx: u64) -> u64;
    /// Bytes of machine code.
    fn len(&self) -> usize;
    /// The machine code (for `OBJ_GET_INFO_BY_FD`'s jited image).
    fn bytes(&self) -> &[u8];
    /// Where a tail call into it jumps.
    fn tail_call_entry(&self) -> u64;
    /// Whether there is none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A loaded program as a kernel object.
pub struct ProgObject {
    /// Its id.
    pub id: u32,
    /// Linux's tag (see [`crate::prog::tag`]).
    pub tag: [u8; 8],
    /// Its name.
    pub name: [u8; 16],
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// The instructions as verified.
    pub insns: Vec<axiom_abi::Insn>,
    /// The compiled code.
    pub code: alloc::boxed::Box<dyn Code>,
    /// The maps it uses (kept alive while it lives).
    pub maps: Vec<Arc<MapObject>>,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
    /// Whether its licence is GPL-compatible.
    pub gpl: bool,
    /// When it was loaded (ns).
    pub load_time: u64,
}

/// What a BPF file descriptor refers to.
#[derive(Clone)]
pub enum Object {
    /// A map (held for user space).
    Map(MapRef),
    /// A program.
    Prog(Arc<ProgObject>),
    /// A link of a program to a hook.
    Link(Arc<crate::link::LinkObject>),
}

/// What the command layer needs of the calling process.
pub trait Env {
    /// Copies user memory at `addr` into `out`; `EFAULT` if it cannot.
    fn read_user(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno>;
    /// Copies `data` to user memory at `addr`; `EFAULT` if it cannot.
    fn write_user(&self, addr: u64, data: &[u8]) -> Result<(), Errno>;
    /// The BPF object behind `fd`: `EBADF` if the descriptor is not open,
    /// `EINVAL` if it is not a BPF object.
    fn object(&self, fd: u32) -> Result<Object, Errno>;
    /// A new descriptor for `object`.
    fn install(&mut self, object: Object) -> Result<u32, Errno>;
    /// Whether the kernel can spare `bytes` more for a map (`ENOMEM` if
    /// not).
    fn memory_ok(&self, bytes: usize) -> bool;
    /// Places JIT code (x86-64 or arm64, the platform's own) for running.
    fn load_code(
        &mut self,
        image: axiom_jit::program::JitImage,
    ) -> Result<alloc::boxed::Box<dyn Code>, Errno>;
    /// JIT options for this platform (far helper calls where code lies
    /// far from the helpers).
    fn jit_options(&self) -> axiom_jit::program::JitOptions;
    /// A monotonic clock, ns.
    fn now_ns(&self) -> u64;
    /// CPUs (bounds per-CPU accesses in the verifier).
    fn possible_cpus(&self) -> u32 {
        1
    }
    /// Whether the caller has Linux's `CAP_PERFMON` for the verifier's
    /// purposes (it may read never-written stack, as root may on Linux).
    /// Axiom's kernel has no privilege model yet and says no.
    fn privileged(&self) -> bool {
        false
    }
    /// The hook for `attach_type` and `target` (`EINVAL` if the platform
    /// has no such hook).
    fn hook(
        &self,
        _attach_type: u32,
        _target: u32,
    ) -> Result<&'static crate::hook::HookSlot, Errno> {
        Err(Errno::EINVAL)
    }
}

/// Every BPF object, by id; an object lives while a descriptor (or a
/// program, a pin...) holds it.
pub struct Registry {
    maps: spin::Mutex<BTreeMap<u32, Weak<MapObject>>>,
    progs: spin::Mutex<BTreeMap<u32, Weak<ProgObject>>>,
    /// The BPF file system: pinned objects and directories by path (the
    /// root, [`BPFFS`], always exists).
    pins: spin::Mutex<BTreeMap<alloc::string::String, Option<Object>>>,
    pub(crate) links: spin::Mutex<BTreeMap<u32, Weak<crate::link::LinkObject>>>,
    next_id: AtomicU32,
    next_prog_id: AtomicU32,
    next_link_id: AtomicU32,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

/// Where the BPF file system is mounted.
pub const BPFFS: &str = "/sys/fs/bpf";

/// A BPF file system path, normalised (no trailing `/`), if it is one.
fn bpffs_path(path: &str) -> Result<alloc::string::String, Errno> {
    let path = path.trim_end_matches('/');
    if path.split('/').any(|c| c == "." || c == "..") || path.contains("//") {
        return Err(Errno::EINVAL);
    }
    if path != BPFFS && !path.starts_with("/sys/fs/bpf/") {
        // Linux: a path outside a BPF file system is not one it can pin to.
        return Err(Errno::EPERM);
    }
    Ok(alloc::string::String::from(path))
}

/// The attribute as the command sees it: the caller's bytes, zero-filled
/// to the size Axiom knows.
pub(crate) type Attr = [u8; BPF_ATTR_SIZE];

/// Linux's entry checks: at most a page; bytes beyond what the kernel
/// knows must be zero (`E2BIG`); a short attribute is zero-filled.
fn read_attr(env: &dyn Env, uattr: u64, size: u32) -> Result<Attr, Errno> {
    let size = size as usize;
    if size > PAGE {
        return Err(Errno::E2BIG);
    }
    if size > BPF_ATTR_SIZE {
        let mut tail = vec![0u8; size - BPF_ATTR_SIZE];
        env.read_user(uattr + BPF_ATTR_SIZE as u64, &mut tail)?;
        if tail.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let mut attr = [0u8; BPF_ATTR_SIZE];
    env.read_user(uattr, &mut attr[..size.min(BPF_ATTR_SIZE)])?;
    Ok(attr)
}

/// Linux's `CHECK_ATTR`: bytes past the command's last field must be zero.
pub(crate) fn check_attr(attr: &Attr, used: usize) -> Result<(), Errno> {
    if attr[used.min(BPF_ATTR_SIZE)..].iter().any(|&b| b != 0) {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

/// A map name: at most 15 bytes of letters, digits, `_` and `.`, NUL after.
fn check_name(name: &[u8; 16]) -> Result<(), Errno> {
    let len = name.iter().position(|&b| b == 0).ok_or(Errno::EINVAL)?;
    if name[..len].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// `map_flags` each map kind accepts: `BPF_F_NO_PREALLOC` (1),
/// `BPF_F_NO_COMMON_LRU` (2), `BPF_F_NUMA_NODE` (4), `BPF_F_RDONLY` (8),
/// `BPF_F_WRONLY` (16), `BPF_F_ZERO_SEED` (64), `BPF_F_RDONLY_PROG` (128),
/// `BPF_F_WRONLY_PROG` (256).
fn flags_ok(map_type: u32, flags: u32) -> bool {
    let access = 8 | 16 | 128 | 256;
    let allowed = match map_type {
        mt::HASH | mt::PERCPU_HASH => 1 | 4 | 64 | access,
        mt::LRU_HASH | mt::LRU_PERCPU_HASH => 2 | 4 | access,
        mt::ARRAY | mt::PERCPU_ARRAY => 4 | access,
        mt::PROG_ARRAY => 4 | 8 | 16,
        mt::RINGBUF => 4,
        mt::QUEUE | mt::STACK => 4 | access,
        _ => 0,
    };
    flags & !allowed == 0 && flags & (8 | 16) != (8 | 16) && flags & (128 | 256) != (128 | 256)
}

impl Registry {
    /// An empty registry.
    pub const fn new() -> Registry {
        Registry {
            maps: spin::Mutex::new(BTreeMap::new()),
            progs: spin::Mutex::new(BTreeMap::new()),
            pins: spin::Mutex::new(BTreeMap::new()),
            links: spin::Mutex::new(BTreeMap::new()),
            next_link_id: AtomicU32::new(1),
            next_id: AtomicU32::new(1),
            next_prog_id: AtomicU32::new(1),
        }
    }

    /// Maps alive now.
    pub fn live_maps(&self) -> usize {
        let mut maps = self.maps.lock();
        maps.retain(|_, m| m.strong_count() > 0);
        maps.len()
    }

    /// `mkdir` in the BPF file system.
    pub fn mkdir(&self, path: &str) -> Result<(), Errno> {
        let path = bpffs_path(path)?;
        let mut pins = self.pins.lock();
        if path == BPFFS || pins.contains_key(&path) {
            return Err(Errno::EEXIST);
        }
        self.parent_is_dir(&pins, &path)?;
        pins.insert(path, None);
        Ok(())
    }

    /// `unlink` (`dir` false) or `rmdir` (`dir` true) in the BPF file
    /// system: a pin goes (its object lives on while held elsewhere).
    pub fn unlink(&self, path: &str, dir: bool) -> Result<(), Errno> {
        let path = bpffs_path(path)?;
        let mut pins = self.pins.lock();
        let is_dir = match pins.get(&path) {
            None if path == BPFFS => return Err(Errno::EBUSY),
            None => return Err(Errno::ENOENT),
            Some(entry) => entry.is_none(),
        };
        if dir != is_dir {
            return Err(if dir { Errno::ENOTDIR } else { Errno::EISDIR });
        }
        let prefix = alloc::format!("{path}/");
        if is_dir && pins.keys().any(|k| k.starts_with(&prefix)) {
            return Err(Errno::ENOTEMPTY);
        }
        pins.remove(&path);
        Ok(())
    }

    fn parent_is_dir(
        &self,
        pins: &BTreeMap<alloc::string::String, Option<Object>>,
        path: &str,
    ) -> Result<(), Errno> {
        let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
        match pins.get(parent) {
            _ if parent == BPFFS => Ok(()),
            Some(None) => Ok(()),
            Some(Some(_)) => Err(Errno::ENOTDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// Makes `map` an object with the next id, known to the registry.
    fn register_map(&self, name: [u8; 16], map: Map) -> Arc<MapObject> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let object = Arc::new(MapObject {
            id,
            name,
            map: crate::platform::IrqMutex::new(map),
            users: crate::prog_array::new_user_count(),
            prog_slots: spin::Mutex::new(Default::default()),
        });
        register(&mut self.maps.lock(), id, &object);
        object
    }

    /// A map the kernel itself owns (its hooks' statistics and events):
    /// made as `BPF_MAP_CREATE` makes one, then pinned at `path` (its
    /// directories made as needed) for user space to find.
    pub fn kernel_map(
        &self,
        name: &str,
        spec: MapSpec,
        cpus: u32,
        path: &str,
    ) -> Result<Arc<MapObject>, Errno> {
        let mut map_name = [0u8; 16];
        for (d, s) in map_name.iter_mut().zip(name.bytes().take(15)) {
            *d = s;
        }
        let object = self.register_map(map_name, Map::with_cpus(spec, cpus)?);
        let path = bpffs_path(path)?;
        let mut pins = self.pins.lock();
        // Its directories, then the pin.
        let mut at = 0;
        while let Some(i) = path[at + 1..].find('/') {
            let dir = &path[..at + 1 + i];
            if dir.len() > BPFFS.len() {
                pins.entry(alloc::string::String::from(dir)).or_insert(None);
            }
            at += 1 + i;
        }
        if pins.contains_key(&path) {
            return Err(Errno::EEXIST);
        }
        pins.insert(path, Some(Object::Map(MapRef::new(object.clone()))));
        Ok(object)
    }

    /// What is at `path` in the BPF file system: `Some(true)` for a
    /// directory (the root included), `Some(false)` for a pin.
    pub fn bpffs_entry(&self, path: &str) -> Option<bool> {
        let path = bpffs_path(path).ok()?;
        if path == BPFFS {
            return Some(true);
        }
        self.pins.lock().get(&path).map(Option::is_none)
    }

    /// The object pinned at `path` (kernel-side users of a pin).
    pub fn pinned_object(&self, path: &str) -> Option<Object> {
        self.pins.lock().get(path).cloned().flatten()
    }

    /// Objects pinned now.
    pub fn pinned(&self) -> usize {
        self.pins.lock().values().filter(|v| v.is_some()).count()
    }

    fn obj_pin(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, ObjAttr::SIZE)?;
        let a = ObjAttr::from_bytes(attr);
        // BPF_F_PATH_FD (1 << 14) with a directory descriptor: not yet.
        if a.file_flags != 0 || a.path_fd != 0 {
            return Err(Errno::EINVAL);
        }
        // Linux probes the descriptor as a map, a program, a link: anything
        // else, closed ones included, is EINVAL.
        let object = env.object(a.bpf_fd).map_err(|_| Errno::EINVAL)?;
        let path = bpffs_path(&read_path(env, a.pathname)?)?;
        let mut pins = self.pins.lock();
        if path == BPFFS || pins.contains_key(&path) {
            return Err(Errno::EEXIST);
        }
        self.parent_is_dir(&pins, &path)?;
        pins.insert(path, Some(object));
        Ok(0)
    }

    fn obj_get(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, ObjAttr::SIZE)?;
        let a = ObjAttr::from_bytes(attr);
        // BPF_F_RDONLY (8) / BPF_F_WRONLY (16): accepted, not enforced yet.
        if a.file_flags & !(8 | 16) != 0 || a.file_flags == 24 || a.bpf_fd != 0 || a.path_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let path = bpffs_path(&read_path(env, a.pathname)?)?;
        let object = match self.pins.lock().get(&path) {
            Some(Some(o)) => o.clone(),
            Some(None) => return Err(Errno::EPERM),
            None => return Err(Errno::ENOENT),
        };
        env.install(object).map(u64::from)
    }

    pub(crate) fn new_link_id(&self) -> u32 {
        self.next_link_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Programs alive now.
    pub fn live_progs(&self) -> usize {
        let mut progs = self.progs.lock();
        progs.retain(|_, p| p.strong_count() > 0);
        progs.len()
    }

    /// `bpf(cmd, uattr, size)`.
    pub fn call(
        &self,
        env: &mut dyn Env,
        command: u32,
        uattr: u64,
        size: u32,
    ) -> Result<u64, Errno> {
        let attr = read_attr(env, uattr, size)?;
        match command {
            cmd::MAP_CREATE => self.map_create(env, &attr),
            cmd::MAP_LOOKUP_ELEM => map_lookup(env, &attr, false),
            cmd::MAP_LOOKUP_AND_DELETE_ELEM => map_lookup(env, &attr, true),
            cmd::MAP_UPDATE_ELEM => map_update(env, &attr),
            cmd::MAP_DELETE_ELEM => map_delete(env, &attr),
            cmd::MAP_GET_NEXT_KEY => map_next_key(env, &attr),
            cmd::MAP_FREEZE => map_freeze(env, &attr),
            cmd::MAP_GET_NEXT_ID => self.map_next_id(env, uattr, &attr),
            cmd::MAP_GET_FD_BY_ID => self.map_fd_by_id(env, &attr),
            cmd::OBJ_GET_INFO_BY_FD => info_by_fd(env, uattr, &attr),
            cmd::PROG_LOAD => self.prog_load(env, uattr, &attr),
            cmd::PROG_TEST_RUN => crate::prog::test_run(env, uattr, &attr),
            cmd::PROG_GET_NEXT_ID => self.prog_next_id(env, uattr, &attr),
            cmd::PROG_GET_FD_BY_ID => self.prog_fd_by_id(env, &attr),
            cmd::OBJ_PIN => self.obj_pin(env, &attr),
            cmd::OBJ_GET => self.obj_get(env, &attr),
            cmd::PROG_ATTACH => self.prog_attach(env, &attr),
            cmd::PROG_DETACH => self.prog_detach(env, &attr),
            cmd::LINK_CREATE => self.link_create(env, &attr),
            cmd::LINK_UPDATE => self.link_update(env, &attr),
            cmd::LINK_DETACH => self.link_detach(env, &attr),
            cmd::LINK_GET_NEXT_ID => self.link_next_id(env, uattr, &attr),
            cmd::LINK_GET_FD_BY_ID => self.link_fd_by_id(env, &attr),
            _ => Err(Errno::EINVAL),
        }
    }

    fn map_create(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, MapCreateAttr::SIZE)?;
        let a = MapCreateAttr::from_bytes(attr);
        check_name(&a.map_name)?;
        if !flags_ok(a.map_type, a.map_flags) {
            return Err(Errno::EINVAL);
        }
        // Not yet: BTF-described maps, inner maps, offload, tokens.
        if a.btf_fd != 0 || a.inner_map_fd != 0 || a.map_ifindex != 0 || a.map_token_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let spec = MapSpec {
            map_type: a.map_type,
            key_size: a.key_size,
            value_size: a.value_size,
            max_entries: a.max_entries,
            flags: a.map_flags,
        };
        let cpus = env.possible_cpus().max(1) as usize;
        let upfront = match a.map_type {
            mt::ARRAY => (a.max_entries as usize).saturating_mul(a.value_size as usize),
            mt::PERCPU_ARRAY => {
                (a.max_entries as usize).saturating_mul(a.value_size as usize).saturating_mul(cpus)
            }
            mt::PROG_ARRAY => (a.max_entries as usize).saturating_mul(8),
            mt::QUEUE | mt::STACK => (a.max_entries as usize).saturating_mul(a.value_size as usize),
            _ => 0,
        };
        if !env.memory_ok(upfront) {
            return Err(Errno::ENOMEM);
        }
        let object = self.register_map(a.map_name, Map::with_cpus(spec, cpus as u32)?);
        env.install(Object::Map(MapRef::new(object))).map(u64::from)
    }

    fn map_next_id(&self, env: &mut dyn Env, uattr: u64, attr: &Attr) -> Result<u64, Errno> {
        // The lock is gone before the user copy.
        let next = next_live_id(&self.maps.lock(), attr)?;
        env.write_user(uattr + offset_of!(GetIdAttr, next_id) as u64, &next.to_le_bytes())?;
        Ok(0)
    }

    fn map_fd_by_id(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, GetIdAttr::SIZE)?;
        let a = GetIdAttr::from_bytes(attr);
        // open_flags: BPF_F_RDONLY (8) or BPF_F_WRONLY (16), not both.
        if a.open_flags & !(8 | 16) != 0 || a.open_flags == 24 || a.fd_by_id_token_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let object =
            self.maps.lock().get(&a.start_id).and_then(Weak::upgrade).ok_or(Errno::ENOENT)?;
        env.install(Object::Map(MapRef::new(object))).map(u64::from)
    }
}

/// `BPF_*_GET_NEXT_ID` over one kind of object: the first live id after
/// the attribute's `start_id`.
/// Enters `object` under `id`, first dropping the entries of objects
/// that are gone: a dead `Weak` still holds its object's allocation, so
/// without this every freed map, program and link would leave its memory
/// behind for good.
pub(crate) fn register<T>(objects: &mut BTreeMap<u32, Weak<T>>, id: u32, object: &Arc<T>) {
    objects.retain(|_, o| o.strong_count() > 0);
    objects.insert(id, Arc::downgrade(object));
}

pub(crate) fn next_live_id<T>(objects: &BTreeMap<u32, Weak<T>>, attr: &Attr) -> Result<u32, Errno> {
    check_attr(attr, 8)?;
    let a = GetIdAttr::from_bytes(attr);
    objects
        .range(a.start_id.saturating_add(1)..)
        .find(|(_, o)| o.strong_count() > 0)
        .map(|(&id, _)| id)
        .ok_or(Errno::ENOENT)
}

/// A NUL-terminated string from user memory, read a byte at a time up to
/// `max` bytes, without its NUL: `Ok(None)` if no NUL came by then.
pub(crate) fn read_user_string(
    env: &dyn Env,
    addr: u64,
    max: usize,
) -> Result<Option<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    for i in 0..max as u64 {
        env.read_user(addr + i, &mut b)?;
        if b[0] == 0 {
            return Ok(Some(out));
        }
        out.push(b[0]);
    }
    Ok(None)
}

/// A NUL-terminated path from user memory (at most 4,096 bytes).
fn read_path(env: &dyn Env, addr: u64) -> Result<alloc::string::String, Errno> {
    let bytes = read_user_string(env, addr, 4096)?.ok_or(Errno::ENAMETOOLONG)?;
    alloc::string::String::from_utf8(bytes).map_err(|_| Errno::ENOENT)
}

fn map_of(env: &dyn Env, fd: u32) -> Result<Arc<MapObject>, Errno> {
    match env.object(fd)? {
        Object::Map(m) => Ok(m.object().clone()),
        _ => Err(Errno::EINVAL),
    }
}

/// The program behind `fd`.
pub(crate) fn prog_of(env: &dyn Env, fd: u32) -> Result<Arc<ProgObject>, Errno> {
    match env.object(fd)? {
        Object::Prog(p) => Ok(p),
        _ => Err(Errno::EINVAL),
    }
}

impl Registry {
    fn prog_load(&self, env: &mut dyn Env, uattr: u64, attr: &Attr) -> Result<u64, Errno> {
        let loaded = crate::prog::load(env, uattr, attr)?;
        let id = self.next_prog_id.fetch_add(1, Ordering::Relaxed);
        let object = Arc::new(ProgObject { id, ..loaded });
        register(&mut self.progs.lock(), id, &object);
        env.install(Object::Prog(object)).map(u64::from)
    }

    fn prog_next_id(&self, env: &mut dyn Env, uattr: u64, attr: &Attr) -> Result<u64, Errno> {
        let next = next_live_id(&self.progs.lock(), attr)?;
        env.write_user(uattr + offset_of!(GetIdAttr, next_id) as u64, &next.to_le_bytes())?;
        Ok(0)
    }

    fn prog_fd_by_id(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, GetIdAttr::SIZE)?;
        let a = GetIdAttr::from_bytes(attr);
        if a.open_flags != 0 || a.fd_by_id_token_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let object =
            self.progs.lock().get(&a.start_id).and_then(Weak::upgrade).ok_or(Errno::ENOENT)?;
        env.install(Object::Prog(object)).map(u64::from)
    }
}

/// The element attribute of a map command whose last field ends at
/// `used` (Linux's `*_LAST_FIELD`: `key` for delete, `next_key` for the
/// next key, `flags` for lookups and updates): bytes past it must be zero.
fn elem_attr_to(
    env: &dyn Env,
    attr: &Attr,
    used: usize,
) -> Result<(MapElemAttr, Arc<MapObject>), Errno> {
    check_attr(attr, used)?;
    let a = MapElemAttr::from_bytes(attr);
    Ok((a, map_of(env, a.map_fd)?))
}

fn elem_attr(env: &dyn Env, attr: &Attr) -> Result<(MapElemAttr, Arc<MapObject>), Errno> {
    elem_attr_to(env, attr, MapElemAttr::SIZE)
}

fn read_key(env: &dyn Env, m: &MapObject, addr: u64) -> Result<Vec<u8>, Errno> {
    let mut key = vec![0u8; m.map.lock().spec.key_size as usize];
    env.read_user(addr, &mut key)?;
    Ok(key)
}

fn map_lookup(env: &mut dyn Env, attr: &Attr, delete: bool) -> Result<u64, Errno> {
    let (a, m) = elem_attr(env, attr)?;
    // BPF_F_LOCK (4) is for maps with a spin lock in their values: none yet.
    if a.flags != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = m.map.lock().spec.map_type;
    if kind == mt::RINGBUF {
        return Err(Errno::EINVAL);
    }
    if kind == mt::PROG_ARRAY {
        if delete {
            return Err(Errno::ENOTSUPP);
        }
        // The value of a program array's slot is its program's id.
        let key = read_key(env, &m, a.key)?;
        let index = u32::from_le_bytes(key[..4].try_into().unwrap_or_default());
        let id = m.program_id(index).ok_or(Errno::ENOENT)?;
        env.write_user(a.value, &id.to_le_bytes())?;
        return Ok(0);
    }
    let queue = matches!(kind, mt::QUEUE | mt::STACK);
    let hash = matches!(kind, mt::HASH | mt::LRU_HASH | mt::PERCPU_HASH | mt::LRU_PERCPU_HASH);
    if delete && !queue && !hash {
        return Err(Errno::ENOTSUPP);
    }
    let key = read_key(env, &m, a.key)?;
    let value = {
        let mut map = m.map.lock();
        if delete && map.frozen {
            return Err(Errno::EPERM);
        }
        // Queues and stacks: peek, or pop.
        if queue {
            let v = map.take(delete).ok_or(Errno::ENOENT)?;
            map.collect();
            drop(map);
            env.write_user(a.value, &v)?;
            return Ok(0);
        }
        let v = map.read(&key).ok_or(Errno::ENOENT)?;
        if delete {
            map.delete(&key)?;
            map.collect();
        }
        v
    };
    env.write_user(a.value, &value)?;
    Ok(0)
}

fn map_update(env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
    let (a, m) = elem_attr(env, attr)?;
    let (key_size, value_size, kind) = {
        let map = m.map.lock();
        (map.spec.key_size as usize, map.user_value_size(), map.spec.map_type)
    };
    if kind == mt::RINGBUF {
        return Err(Errno::EINVAL);
    }
    let key = read_key(env, &m, a.key)?;
    if kind == mt::PROG_ARRAY {
        // The value is a program's descriptor.
        if a.flags != 0 {
            return Err(Errno::EINVAL);
        }
        let mut fd = [0u8; 4];
        env.read_user(a.value, &mut fd)?;
        let prog = prog_of(env, u32::from_le_bytes(fd))?;
        let index = u32::from_le_bytes(key[..4].try_into().unwrap_or_default());
        m.set_program(index, prog)?;
        return Ok(0);
    }
    let mut value = vec![0u8; value_size];
    env.read_user(a.value, &mut value)?;
    if !env.memory_ok(key_size + value_size + 64) {
        return Err(Errno::ENOMEM);
    }
    let mut map = m.map.lock();
    if map.frozen {
        return Err(Errno::EPERM);
    }
    map.update_user(&key, &value, a.flags)?;
    map.collect();
    Ok(0)
}

fn map_delete(env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
    let (a, m) = elem_attr_to(env, attr, offset_of!(MapElemAttr, value))?;
    let key = read_key(env, &m, a.key)?;
    if m.map.lock().spec.map_type == mt::PROG_ARRAY {
        let index = u32::from_le_bytes(key[..4].try_into().unwrap_or_default());
        if index >= m.map.lock().spec.max_entries {
            return Err(Errno::E2BIG);
        }
        return m.clear_program(index).map(|()| 0);
    }
    let mut map = m.map.lock();
    if map.frozen {
        return Err(Errno::EPERM);
    }
    map.delete(&key)?;
    map.collect();
    Ok(0)
}

fn map_next_key(env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
    let (a, m) = elem_attr_to(env, attr, offset_of!(MapElemAttr, flags))?;
    if matches!(m.map.lock().spec.map_type, mt::RINGBUF | mt::QUEUE | mt::STACK) {
        return Err(Errno::EINVAL);
    }
    let key = if a.key == 0 { None } else { Some(read_key(env, &m, a.key)?) };
    let next = m.map.lock().next_key(key.as_deref()).ok_or(Errno::ENOENT)?;
    env.write_user(a.value, &next)?;
    Ok(0)
}

fn map_freeze(env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
    check_attr(attr, 4)?;
    let fd = u32::from_le_bytes([attr[0], attr[1], attr[2], attr[3]]);
    let m = map_of(env, fd)?;
    let mut map = m.map.lock();
    // A frozen map cannot be written from user space, so freezing it
    // again is refused for want of write access (Linux's EPERM).
    if map.frozen {
        return Err(Errno::EPERM);
    }
    map.frozen = true;
    Ok(0)
}

fn info_by_fd(env: &mut dyn Env, uattr: u64, attr: &Attr) -> Result<u64, Errno> {
    check_attr(attr, InfoAttr::SIZE)?;
    let a = InfoAttr::from_bytes(attr);
    let m = match env.object(a.bpf_fd)? {
        Object::Map(m) => m,
        Object::Prog(p) => return crate::prog::info(env, uattr, &a, &p),
        Object::Link(l) => return crate::link::info(env, uattr, &a, &l),
    };
    let map = m.map.lock();
    let info = MapInfo {
        type_: map.spec.map_type,
        id: m.id,
        key_size: map.spec.key_size,
        value_size: map.spec.value_size,
        max_entries: map.spec.max_entries,
        map_flags: map.spec.flags,
        name: m.name,
        ..MapInfo::default()
    };
    drop(map);
    let mut bytes = [0u8; MapInfo::SIZE];
    info.write_to(&mut bytes);
    write_info(env, uattr, &a, &bytes)
}

/// Writes an object's info (`bytes`) as Linux does: the caller's buffer
/// may be larger than what Axiom fills (its tail must then be zero, else
/// `E2BIG`) or smaller (what fits is written); `info_len` is set to what
/// was written.
pub(crate) fn write_info(
    env: &mut dyn Env,
    uattr: u64,
    a: &InfoAttr,
    bytes: &[u8],
) -> Result<u64, Errno> {
    let len = a.info_len as usize;
    if len > PAGE {
        return Err(Errno::E2BIG);
    }
    if len > bytes.len() {
        let mut tail = vec![0u8; len - bytes.len()];
        env.read_user(a.info + bytes.len() as u64, &mut tail)?;
        if tail.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let len = len.min(bytes.len());
    env.write_user(a.info, &bytes[..len])?;
    env.write_user(uattr + 4, &(len as u32).to_le_bytes())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::HookSlot;

    /// Linux's verifier limits through `PROG_LOAD` and `PROG_TEST_RUN`.
    mod limits;
    use alloc::string::String;
    use axiom_abi::hooks;
    use axiom_abi::uapi::attr::{
        LinkCreateAttr, LinkDetachAttr, LinkUpdateAttr, ObjAttr, ProgAttachAttr, ProgLoadAttr,
        TestRunAttr,
    };

    /// A process for the tests: memory at [`BASE`], a descriptor table.
    struct Fake {
        mem: Vec<u8>,
        fds: Vec<Option<Object>>,
    }

    const BASE: u64 = 0x10_0000;

    impl Fake {
        fn new() -> Fake {
            Fake::with_memory(64 * 1024)
        }
        /// A process with `bytes` of memory from [`BASE`].
        fn with_memory(bytes: usize) -> Fake {
            Fake { mem: vec![0; bytes], fds: vec![None, None, None] }
        }
        fn range(&self, addr: u64, len: usize) -> Result<core::ops::Range<usize>, Errno> {
            let start = addr.checked_sub(BASE).ok_or(Errno::EFAULT)? as usize;
            let end = start.checked_add(len).ok_or(Errno::EFAULT)?;
            if end > self.mem.len() { Err(Errno::EFAULT) } else { Ok(start..end) }
        }
        fn put(&mut self, addr: u64, data: &[u8]) {
            let r = self.range(addr, data.len()).unwrap();
            self.mem[r].copy_from_slice(data);
        }
        fn get(&self, addr: u64, len: usize) -> Vec<u8> {
            self.mem[self.range(addr, len).unwrap()].to_vec()
        }
        /// Calls `bpf(cmd, attr)` with `attr` placed at BASE.
        fn bpf(&mut self, reg: &Registry, command: u32, attr: &[u8]) -> Result<u64, Errno> {
            self.put(BASE, &vec![0u8; 4096]);
            self.put(BASE, attr);
            reg.call(self, command, BASE, attr.len() as u32)
        }
    }

    impl Env for Fake {
        fn read_user(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno> {
            out.copy_from_slice(&self.mem[self.range(addr, out.len())?]);
            Ok(())
        }
        fn write_user(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
            // The fake's memory is written through `put` in the tests;
            // here only the range is checked and the bytes stored.
            self.range(addr, data.len())?;
            WRITES.with(|w| w.borrow_mut().push((addr, data.to_vec())));
            Ok(())
        }
        fn object(&self, fd: u32) -> Result<Object, Errno> {
            match self.fds.get(fd as usize) {
                Some(Some(o)) => Ok(o.clone()),
                _ if fd < 3 => Err(Errno::EINVAL),
                _ => Err(Errno::EBADF),
            }
        }
        fn install(&mut self, object: Object) -> Result<u32, Errno> {
            self.fds.push(Some(object));
            Ok(self.fds.len() as u32 - 1)
        }
        fn memory_ok(&self, bytes: usize) -> bool {
            bytes < 1 << 24
        }
        #[cfg(feature = "host")]
        fn load_code(
            &mut self,
            image: axiom_jit::program::JitImage,
        ) -> Result<alloc::boxed::Box<dyn Code>, Errno> {
            Ok(alloc::boxed::Box::new(
                crate::host::ExecImage::new(image).map_err(|_| Errno::ENOMEM)?,
            ))
        }
        #[cfg(not(feature = "host"))]
        fn load_code(
            &mut self,
            _image: axiom_jit::program::JitImage,
        ) -> Result<alloc::boxed::Box<dyn Code>, Errno> {
            Err(Errno::ENOTSUPP)
        }
        fn jit_options(&self) -> axiom_jit::program::JitOptions {
            axiom_jit::program::JitOptions { far_helper_calls: true, ..Default::default() }
        }
        fn now_ns(&self) -> u64 {
            0
        }
        fn hook(&self, attach: u32, target: u32) -> Result<&'static HookSlot, Errno> {
            match (attach, target) {
                (hooks::attach_type::AXIOM_TICK, 0) => Ok(&TEST_HOOK),
                _ => Err(Errno::EINVAL),
            }
        }
    }

    /// The hook of the link tests.
    static TEST_HOOK: HookSlot = HookSlot::new("test", hooks::prog_type::AXIOM_TICK);

    std::thread_local! {
        static WRITES: core::cell::RefCell<Vec<(u64, Vec<u8>)>> = const { core::cell::RefCell::new(Vec::new()) };
    }

    /// Applies the writes the command layer made to the fake's memory.
    fn flush(f: &mut Fake) {
        for (addr, data) in WRITES.with(|w| core::mem::take(&mut *w.borrow_mut())) {
            f.put(addr, &data);
        }
    }

    fn create(
        f: &mut Fake,
        reg: &Registry,
        kind: u32,
        key: u32,
        value: u32,
        max: u32,
    ) -> Result<u64, Errno> {
        let mut a = [0u8; MapCreateAttr::SIZE];
        MapCreateAttr {
            map_type: kind,
            key_size: key,
            value_size: value,
            max_entries: max,
            ..Default::default()
        }
        .write_to(&mut a);
        f.bpf(reg, cmd::MAP_CREATE, &a)
    }

    fn elem(
        f: &mut Fake,
        reg: &Registry,
        command: u32,
        fd: u64,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<u64, Errno> {
        let (k, v) = (BASE + 0x1000, BASE + 0x2000);
        let mut a = [0u8; MapElemAttr::SIZE];
        // A delete has no value field (Linux: EINVAL if it is set).
        let value_field = if command == cmd::MAP_DELETE_ELEM { 0 } else { v };
        MapElemAttr {
            map_fd: fd as u32,
            key: if key.is_empty() { 0 } else { k },
            value: value_field,
            flags,
        }
        .write_to(&mut a);
        f.put(BASE, &vec![0u8; 4096]);
        f.put(BASE, &a);
        f.put(k, key);
        f.put(v, value);
        let r = reg.call(f, command, BASE, a.len() as u32);
        flush(f);
        r
    }

    #[test]
    fn attribute_sizes_follow_linux() {
        let reg = Registry::new();
        let mut f = Fake::new();
        let mut big = vec![0u8; 4097];
        assert_eq!(f.bpf(&reg, cmd::MAP_CREATE, &big), Err(Errno::E2BIG));
        big.truncate(300);
        big[0] = mt::ARRAY as u8;
        big[4] = 4;
        big[8] = 8;
        big[12] = 1;
        // Zero past what Axiom knows: accepted.
        assert!(f.bpf(&reg, cmd::MAP_CREATE, &big).is_ok());
        // Non-zero past it: E2BIG.
        big[250] = 1;
        assert_eq!(f.bpf(&reg, cmd::MAP_CREATE, &big), Err(Errno::E2BIG));
        // Non-zero past the command's fields: EINVAL.
        let mut a = [0u8; 64];
        a[40] = 1;
        assert_eq!(f.bpf(&reg, cmd::MAP_UPDATE_ELEM, &a), Err(Errno::EINVAL));
        // An attribute the process cannot read: EFAULT.
        assert_eq!(reg.call(&mut f, cmd::MAP_CREATE, 0x10, 16), Err(Errno::EFAULT));
        // Unknown commands: EINVAL.
        assert_eq!(f.bpf(&reg, 9999, &[0u8; 8]), Err(Errno::EINVAL));
    }

    #[test]
    fn map_commands_have_linux_semantics() {
        let reg = Registry::new();
        let mut f = Fake::new();
        let arr = create(&mut f, &reg, mt::ARRAY, 4, 8, 2).unwrap();
        let k1 = 1u32.to_le_bytes();
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, arr, &k1, &7u64.to_le_bytes(), 0),
            Ok(0)
        );
        assert_eq!(elem(&mut f, &reg, cmd::MAP_LOOKUP_ELEM, arr, &k1, &[0; 8], 0), Ok(0));
        assert_eq!(f.get(BASE + 0x2000, 8), 7u64.to_le_bytes());
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, arr, &5u32.to_le_bytes(), &[0; 8], 0),
            Err(Errno::E2BIG)
        );
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, arr, &k1, &[0; 8], 1),
            Err(Errno::EEXIST)
        );
        assert_eq!(elem(&mut f, &reg, cmd::MAP_DELETE_ELEM, arr, &k1, &[], 0), Err(Errno::EINVAL));
        // Next key: 0, then 1, then the end.
        assert_eq!(elem(&mut f, &reg, cmd::MAP_GET_NEXT_KEY, arr, &[], &[0; 4], 0), Ok(0));
        assert_eq!(f.get(BASE + 0x2000, 4), 0u32.to_le_bytes());
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_GET_NEXT_KEY, arr, &k1, &[0; 4], 0),
            Err(Errno::ENOENT)
        );

        let hash = create(&mut f, &reg, mt::HASH, 4, 4, 2).unwrap();
        for k in [1u32, 2] {
            assert_eq!(
                elem(
                    &mut f,
                    &reg,
                    cmd::MAP_UPDATE_ELEM,
                    hash,
                    &k.to_le_bytes(),
                    &k.to_le_bytes(),
                    1
                ),
                Ok(0)
            );
        }
        // Full.
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, hash, &3u32.to_le_bytes(), &[0; 4], 0),
            Err(Errno::E2BIG)
        );
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, hash, &9u32.to_le_bytes(), &[0; 4], 2),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            elem(
                &mut f,
                &reg,
                cmd::MAP_LOOKUP_AND_DELETE_ELEM,
                hash,
                &2u32.to_le_bytes(),
                &[0; 4],
                0
            ),
            Ok(0)
        );
        assert_eq!(f.get(BASE + 0x2000, 4), 2u32.to_le_bytes());
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_DELETE_ELEM, hash, &2u32.to_le_bytes(), &[], 0),
            Err(Errno::ENOENT)
        );
        // Bad descriptors: not open (EBADF), not a BPF object (EINVAL).
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_LOOKUP_ELEM, 77, &k1, &[0; 4], 0),
            Err(Errno::EBADF)
        );
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_LOOKUP_ELEM, 1, &k1, &[0; 4], 0),
            Err(Errno::EINVAL)
        );
        // Frozen: no more updates from user space.
        let mut a = [0u8; 4];
        a.copy_from_slice(&(hash as u32).to_le_bytes());
        assert_eq!(f.bpf(&reg, cmd::MAP_FREEZE, &a), Ok(0));
        assert_eq!(f.bpf(&reg, cmd::MAP_FREEZE, &a), Err(Errno::EPERM));
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, hash, &1u32.to_le_bytes(), &[0; 4], 0),
            Err(Errno::EPERM)
        );
        // Bad shapes and flags.
        assert_eq!(create(&mut f, &reg, mt::ARRAY, 8, 8, 2), Err(Errno::EINVAL));
        assert_eq!(create(&mut f, &reg, 999, 4, 4, 2), Err(Errno::EINVAL));
        assert_eq!(create(&mut f, &reg, mt::ARRAY, 4, 1 << 20, 1 << 12), Err(Errno::ENOMEM));
    }

    #[test]
    fn ids_info_and_lifetimes() {
        let reg = Registry::new();
        let mut f = Fake::new();
        let a = create(&mut f, &reg, mt::ARRAY, 4, 8, 2).unwrap();
        let b = create(&mut f, &reg, mt::HASH, 4, 8, 2).unwrap();
        assert_eq!(reg.live_maps(), 2);
        // Next id from 0 finds the first; by id gives a new descriptor.
        let mut g = [0u8; 8];
        assert_eq!(f.bpf(&reg, cmd::MAP_GET_NEXT_ID, &g), Ok(0));
        flush(&mut f);
        let first = u32::from_le_bytes(f.get(BASE + 4, 4).try_into().unwrap());
        g[..4].copy_from_slice(&first.to_le_bytes());
        let mut by_id = [0u8; GetIdAttr::SIZE];
        by_id[..4].copy_from_slice(&first.to_le_bytes());
        let c = f.bpf(&reg, cmd::MAP_GET_FD_BY_ID, &by_id).unwrap();
        assert!(c > b);
        // Info: the map's shape, id and the length written.
        let mut i = [0u8; InfoAttr::SIZE];
        InfoAttr { bpf_fd: a as u32, info_len: 200, info: BASE + 0x3000 }.write_to(&mut i);
        assert_eq!(f.bpf(&reg, cmd::OBJ_GET_INFO_BY_FD, &i), Ok(0));
        flush(&mut f);
        let info = MapInfo::from_bytes(&f.get(BASE + 0x3000, MapInfo::SIZE));
        assert_eq!((info.type_, info.id, info.key_size, info.value_size), (mt::ARRAY, first, 4, 8));
        assert_eq!(
            u32::from_le_bytes(f.get(BASE + 4, 4).try_into().unwrap()) as usize,
            MapInfo::SIZE
        );
        // Closing every descriptor frees the maps.
        f.fds.truncate(3);
        assert_eq!(reg.live_maps(), 0);
        assert_eq!(f.bpf(&reg, cmd::MAP_GET_FD_BY_ID, &by_id), Err(Errno::ENOENT));
    }

    /// `PROG_LOAD` of `insns` (raw bytes at BASE + 0x1000) as a socket
    /// filter, with a log buffer of `log_size` at BASE + 0x4000.
    fn load(f: &mut Fake, reg: &Registry, insns: &[u8], log_size: u32) -> Result<u64, Errno> {
        load_type(f, reg, 1, insns, log_size)
    }

    fn load_type(
        f: &mut Fake,
        reg: &Registry,
        prog_type: u32,
        insns: &[u8],
        log_size: u32,
    ) -> Result<u64, Errno> {
        let mut a = [0u8; ProgLoadAttr::SIZE];
        ProgLoadAttr {
            prog_type,
            insn_cnt: (insns.len() / 8) as u32,
            insns: BASE + 0x1000,
            license: BASE + 0x3000,
            log_level: u32::from(log_size > 0),
            log_size,
            log_buf: if log_size > 0 { BASE + 0x4000 } else { 0 },
            ..Default::default()
        }
        .write_to(&mut a);
        f.put(BASE, &vec![0u8; 4096]);
        f.put(BASE, &a);
        f.put(BASE + 0x1000, insns);
        f.put(BASE + 0x3000, b"GPL\0");
        let r = reg.call(f, cmd::PROG_LOAD, BASE, a.len() as u32);
        flush(f);
        r
    }

    #[cfg(feature = "host")]
    #[test]
    fn links_own_hooks_and_replace_programs_atomically() {
        use hooks::{attach_type::AXIOM_TICK as TICK, prog_type::AXIOM_TICK as TICK_PROG};
        let reg = Registry::new();
        let mut f = Fake::new();
        let ret = |v: u8| [0xb7, 0, 0, 0, v, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        let a = load_type(&mut f, &reg, TICK_PROG, &ret(1), 0).unwrap() as u32;
        let b = load_type(&mut f, &reg, TICK_PROG, &ret(2), 0).unwrap() as u32;
        let s = load(&mut f, &reg, &ret(3), 0).unwrap() as u32;
        let run = || TEST_HOOK.dispatch(0, 0, || 0).map(|d| d.r0);
        let link = |f: &mut Fake, prog: u32, attach: u32| {
            let mut x = [0u8; LinkCreateAttr::SIZE];
            LinkCreateAttr { prog_fd: prog, attach_type: attach, ..Default::default() }
                .write_to(&mut x);
            f.bpf(&reg, cmd::LINK_CREATE, &x)
        };
        let update = |f: &mut Fake, l: u32, new: u32, flags: u32, old: u32| {
            let mut x = [0u8; LinkUpdateAttr::SIZE];
            LinkUpdateAttr { link_fd: l, new_prog_fd: new, flags, old_prog_fd: old }
                .write_to(&mut x);
            f.bpf(&reg, cmd::LINK_UPDATE, &x)
        };
        let attach = |f: &mut Fake, command: u32, prog: u32, flags: u32, replace: u32| {
            let mut x = [0u8; ProgAttachAttr::SIZE];
            ProgAttachAttr {
                attach_bpf_fd: prog,
                attach_type: TICK,
                attach_flags: flags,
                replace_bpf_fd: replace,
                ..Default::default()
            }
            .write_to(&mut x);
            f.bpf(&reg, command, &x)
        };
        assert_eq!(run(), None, "nothing attached");
        assert_eq!(link(&mut f, s, TICK), Err(Errno::EINVAL), "a socket filter");
        assert_eq!(link(&mut f, a, 999), Err(Errno::EINVAL), "no such hook");
        assert_eq!(link(&mut f, 99, TICK), Err(Errno::EBADF));
        let l = link(&mut f, a, TICK).unwrap() as u32;
        assert_eq!(run(), Some(1));
        assert_eq!(link(&mut f, b, TICK), Err(Errno::EBUSY), "a link holds the hook alone");
        assert_eq!(attach(&mut f, cmd::PROG_ATTACH, b, 0, 0), Err(Errno::EBUSY));
        assert_eq!(update(&mut f, l, b, 4, s), Err(Errno::EPERM), "wrong old program");
        assert_eq!(update(&mut f, l, s, 0, 0), Err(Errno::EINVAL), "wrong type");
        assert_eq!(update(&mut f, l, b, 4, a), Ok(0));
        assert_eq!(run(), Some(2), "replaced");
        assert_eq!(TEST_HOOK.attached().map(|(id, _)| id), Some(2));
        let mut x = [0u8; LinkDetachAttr::SIZE];
        LinkDetachAttr { link_fd: l }.write_to(&mut x);
        assert_eq!(f.bpf(&reg, cmd::LINK_DETACH, &x), Ok(0));
        assert_eq!(run(), None, "detached");
        assert_eq!(update(&mut f, l, a, 0, 0), Err(Errno::ENOLINK));
        assert_eq!(reg.live_links(), 1, "the descriptor still holds the link");
        let l2 = link(&mut f, a, TICK).unwrap() as u32;
        f.fds[l2 as usize] = None;
        assert_eq!(run(), None, "closing a link's last descriptor detaches it");
        f.fds[l as usize] = None;
        assert_eq!(reg.live_links(), 0);
        // The older interface: attach replaces, detach removes.
        assert_eq!(attach(&mut f, cmd::PROG_ATTACH, a, 0, 0), Ok(0));
        assert_eq!(run(), Some(1));
        assert_eq!(attach(&mut f, cmd::PROG_ATTACH, b, 4, s), Err(Errno::ENOENT));
        assert_eq!(attach(&mut f, cmd::PROG_ATTACH, b, 4, a), Ok(0));
        assert_eq!(run(), Some(2));
        assert_eq!(link(&mut f, a, TICK), Err(Errno::EBUSY));
        assert_eq!(attach(&mut f, cmd::PROG_DETACH, a, 0, 0), Err(Errno::ENOENT), "not a's");
        assert_eq!(attach(&mut f, cmd::PROG_DETACH, 0, 0, 0), Ok(0));
        assert_eq!(attach(&mut f, cmd::PROG_DETACH, 0, 0, 0), Err(Errno::ENOENT));
        assert_eq!(run(), None);
        assert_eq!(TEST_HOOK.runs(), 4);
    }

    #[test]
    fn program_loads_are_checked_like_linux() {
        let reg = Registry::new();
        let mut f = Fake::new();
        // r0 = 7; exit
        let ok = [0xb7, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        // exit without setting r0: refused (EACCES), with a log.
        let bad = [0x95, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(load(&mut f, &reg, &[], 0), Err(Errno::E2BIG));
        assert_eq!(load(&mut f, &reg, &bad, 0), Err(Errno::EACCES));
        assert_eq!(load(&mut f, &reg, &bad, 4096), Err(Errno::EACCES));
        let log = f.get(BASE + 0x4000, 200);
        let text =
            String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap()]).into_owned();
        assert!(text.contains("R0 !read_ok"), "{text}");
        // A log too small for the refusal: ENOSPC.
        assert_eq!(load(&mut f, &reg, &bad, 8), Err(Errno::ENOSPC));
        #[cfg(feature = "host")]
        {
            let fd = load(&mut f, &reg, &ok, 0).unwrap();
            assert_eq!(reg.live_progs(), 1);
            // Test run on a 14-byte frame: retval 7.
            let mut t = [0u8; TestRunAttr::SIZE];
            TestRunAttr {
                prog_fd: fd as u32,
                data_size_in: 14,
                data_in: BASE + 0x2000,
                repeat: 3,
                ..Default::default()
            }
            .write_to(&mut t);
            f.put(BASE, &vec![0u8; 4096]);
            f.put(BASE, &t);
            assert_eq!(reg.call(&mut f, cmd::PROG_TEST_RUN, BASE, t.len() as u32), Ok(0));
            flush(&mut f);
            assert_eq!(u32::from_le_bytes(f.get(BASE + 4, 4).try_into().unwrap()), 7);
            f.fds.truncate(3);
            assert_eq!(reg.live_progs(), 0);
        }
        let _ = ok;
    }

    #[test]
    fn pins_live_in_the_bpf_file_system() {
        let reg = Registry::new();
        let mut f = Fake::new();
        let m = create(&mut f, &reg, mt::ARRAY, 4, 8, 2).unwrap();
        let pin = |f: &mut Fake, command: u32, path: &str, fd: u32| {
            let mut a = [0u8; ObjAttr::SIZE];
            f.put(BASE + 0x1000, path.as_bytes());
            f.put(BASE + 0x1000 + path.len() as u64, &[0]);
            ObjAttr { pathname: BASE + 0x1000, bpf_fd: fd, ..Default::default() }.write_to(&mut a);
            f.bpf(&reg, command, &a)
        };
        assert_eq!(reg.mkdir("/sys/fs/bpf/d"), Ok(()));
        assert_eq!(reg.mkdir("/sys/fs/bpf/d"), Err(Errno::EEXIST));
        assert_eq!(reg.mkdir("/tmp/d"), Err(Errno::EPERM));
        assert_eq!(pin(&mut f, cmd::OBJ_PIN, "/sys/fs/bpf/d/m", m as u32), Ok(0));
        assert_eq!(pin(&mut f, cmd::OBJ_PIN, "/sys/fs/bpf/d/m", m as u32), Err(Errno::EEXIST));
        assert_eq!(pin(&mut f, cmd::OBJ_PIN, "/sys/fs/bpf/x/m", m as u32), Err(Errno::ENOENT));
        assert_eq!(pin(&mut f, cmd::OBJ_PIN, "/sys/fs/bpf/d/../m", m as u32), Err(Errno::EINVAL));
        // The pin keeps the map alive after its descriptor closes.
        f.fds.truncate(3);
        assert_eq!(reg.live_maps(), 1);
        let again = pin(&mut f, cmd::OBJ_GET, "/sys/fs/bpf/d/m", 0).unwrap();
        assert!(again >= 3);
        assert_eq!(reg.unlink("/sys/fs/bpf/d", true), Err(Errno::ENOTEMPTY));
        assert_eq!(reg.unlink("/sys/fs/bpf/d/m", false), Ok(()));
        assert_eq!(pin(&mut f, cmd::OBJ_GET, "/sys/fs/bpf/d/m", 0), Err(Errno::ENOENT));
        assert_eq!(reg.unlink("/sys/fs/bpf/d", true), Ok(()));
        f.fds.truncate(3);
        assert_eq!((reg.live_maps(), reg.pinned()), (0, 0));
    }

    #[test]
    fn hostile_attributes_never_panic_and_leave_no_objects() {
        let reg = Registry::new();
        let mut f = Fake::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let command = (next() % 40) as u32;
            let size = (next() % 200) as usize;
            let mut attr = vec![0u8; size];
            for b in attr.iter_mut() {
                let r = next();
                // Mostly small numbers and pointers into the fake's memory.
                *b = match r % 4 {
                    0 => 0,
                    1 => (r >> 8) as u8 & 7,
                    _ => (r >> 16) as u8,
                };
            }
            if size >= 24 && next() % 2 == 0 {
                attr[8..16].copy_from_slice(&(BASE + 0x1000 + next() % 0x4000).to_le_bytes());
                attr[16..24].copy_from_slice(&(BASE + 0x1000 + next() % 0x4000).to_le_bytes());
            }
            let _ = f.bpf(&reg, command, &attr);
            flush(&mut f);
            if f.fds.len() > 40 {
                f.fds.truncate(3);
            }
        }
        f.fds.truncate(3);
        // Random pins may hold objects: the file system is emptied first.
        let paths: Vec<alloc::string::String> = reg.pins.lock().keys().cloned().collect();
        for p in paths.iter().rev() {
            let _ = reg.unlink(p, false).or_else(|_| reg.unlink(p, true));
        }
        assert_eq!(reg.live_maps(), 0);
        assert_eq!(reg.live_progs(), 0);
    }
}
