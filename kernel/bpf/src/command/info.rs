//! `BPF_OBJ_GET_INFO_BY_FD`: a map's info here, a program's and a link's
//! from their families.

use crate::env::{Attr, Env, check_attr, write_info};
use crate::registry::Object;
use axiom_abi::uapi::attr::{InfoAttr, MapInfo};
use axiom_abi::uapi::errno::Errno;

/// `BPF_OBJ_GET_INFO_BY_FD`.
pub(crate) fn info_by_fd(env: &mut dyn Env, uattr: u64, attr: &Attr) -> Result<u64, Errno> {
    check_attr(attr, InfoAttr::SIZE)?;
    let a = InfoAttr::from_bytes(attr);
    let m = match env.object(a.bpf_fd)? {
        Object::Map(m) => m,
        Object::Prog(p) => return super::prog::info(env, uattr, &a, &p),
        Object::Link(l) => return super::link::info(env, uattr, &a, &l),
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
