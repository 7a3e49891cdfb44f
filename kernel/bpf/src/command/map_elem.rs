//! The map commands on a map's elements and ids: `BPF_MAP_LOOKUP_ELEM`,
//! `BPF_MAP_LOOKUP_AND_DELETE_ELEM`, `BPF_MAP_UPDATE_ELEM`,
//! `BPF_MAP_DELETE_ELEM`, `BPF_MAP_GET_NEXT_KEY`, `BPF_MAP_FREEZE`,
//! `BPF_MAP_GET_NEXT_ID` and `BPF_MAP_GET_FD_BY_ID`. A program array's
//! values are programs (see [`crate::prog_array`]).

use crate::env::{Attr, Env, check_attr, map_of, next_id_start, prog_of, write_next_id};
use crate::object::{MapObject, MapRef};
use crate::registry::{Object, Registry, by_id, next_live_id};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::uapi::attr::{GetIdAttr, MapElemAttr};
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::types::map_type as mt;
use core::mem::offset_of;

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

pub(crate) fn map_lookup(env: &mut dyn Env, attr: &Attr, delete: bool) -> Result<u64, Errno> {
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

pub(crate) fn map_update(env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
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

pub(crate) fn map_delete(env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
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

pub(crate) fn map_next_key(env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
    let (a, m) = elem_attr_to(env, attr, offset_of!(MapElemAttr, flags))?;
    if matches!(m.map.lock().spec.map_type, mt::RINGBUF | mt::QUEUE | mt::STACK) {
        return Err(Errno::EINVAL);
    }
    let key = if a.key == 0 { None } else { Some(read_key(env, &m, a.key)?) };
    let next = m.map.lock().next_key(key.as_deref()).ok_or(Errno::ENOENT)?;
    env.write_user(a.value, &next)?;
    Ok(0)
}

pub(crate) fn map_freeze(env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
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

impl Registry {
    /// `BPF_MAP_GET_NEXT_ID`.
    pub(crate) fn map_next_id(
        &self,
        env: &mut dyn Env,
        uattr: u64,
        attr: &Attr,
    ) -> Result<u64, Errno> {
        // The lock is gone before the user copy.
        let next = next_live_id(&self.maps.lock(), next_id_start(attr)?)?;
        write_next_id(env, uattr, next)
    }

    /// `BPF_MAP_GET_FD_BY_ID`.
    pub(crate) fn map_fd_by_id(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, GetIdAttr::SIZE)?;
        let a = GetIdAttr::from_bytes(attr);
        // open_flags: BPF_F_RDONLY (8) or BPF_F_WRONLY (16), not both.
        if a.open_flags & !(8 | 16) != 0 || a.open_flags == 24 || a.fd_by_id_token_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let object = by_id(&self.maps, a.start_id).ok_or(Errno::ENOENT)?;
        env.install(Object::Map(MapRef::new(object))).map(u64::from)
    }
}
