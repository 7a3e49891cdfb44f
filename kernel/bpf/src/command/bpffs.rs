//! The BPF file system: pins (`BPF_OBJ_PIN`, `BPF_OBJ_GET`), `mkdir` and
//! `unlink` from the file system calls, and the maps the kernel itself
//! owns and pins for user space to find.

use crate::env::{Attr, Env, check_attr, read_path};
use crate::maps::{Map, MapSpec};
use crate::object::{MapObject, MapRef};
use crate::registry::{Object, Registry};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use axiom_abi::uapi::attr::ObjAttr;
use axiom_abi::uapi::errno::Errno;

/// Where the BPF file system is mounted.
pub const BPFFS: &str = "/sys/fs/bpf";

/// A BPF file system path, normalised (no trailing `/`), if it is one.
fn bpffs_path(path: &str) -> Result<String, Errno> {
    let path = path.trim_end_matches('/');
    if path.split('/').any(|c| c == "." || c == "..") || path.contains("//") {
        return Err(Errno::EINVAL);
    }
    if path != BPFFS && !path.starts_with("/sys/fs/bpf/") {
        // Linux: a path outside a BPF file system is not one it can pin to.
        return Err(Errno::EPERM);
    }
    Ok(String::from(path))
}

impl Registry {
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
        pins: &BTreeMap<String, Option<Object>>,
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
                pins.entry(String::from(dir)).or_insert(None);
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

    /// `BPF_OBJ_PIN`.
    pub(crate) fn obj_pin(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
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

    /// `BPF_OBJ_GET`.
    pub(crate) fn obj_get(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
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
}
