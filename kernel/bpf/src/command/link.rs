//! Attaching programs to Axiom's hooks: `BPF_LINK_CREATE`,
//! `BPF_LINK_UPDATE`, `BPF_LINK_DETACH`, `BPF_LINK_GET_NEXT_ID`,
//! `BPF_LINK_GET_FD_BY_ID`, link info, and the older `BPF_PROG_ATTACH`
//! and `BPF_PROG_DETACH`.
//!
//! A link owns its hook while it lives: closing its last descriptor (and
//! unpinning it) detaches the program, as Linux's links do. A program
//! attached with `BPF_PROG_ATTACH` stays until `BPF_PROG_DETACH`. Either
//! way, replacing a hook's program is atomic (see [`crate::hook`]). The
//! link object itself is [`LinkObject`].

use crate::env::{
    Attr, Env, check_attr, link_of, next_id_start, prog_of, write_info, write_next_id,
};
use crate::hook::Owner;
use crate::registry::{LinkObject, Object, Registry, by_id, next_live_id, register};
use alloc::sync::Arc;
use axiom_abi::hooks::LINK_TYPE_AXIOM_HOOK;
use axiom_abi::uapi::attr::{
    GetIdAttr, InfoAttr, LinkCreateAttr, LinkDetachAttr, LinkUpdateAttr, ProgAttachAttr,
};
use axiom_abi::uapi::errno::Errno;
use core::mem::offset_of;

/// `BPF_F_REPLACE`: replace only the program named.
const BPF_F_REPLACE: u32 = 1 << 2;

/// `bpf_link_info` as Axiom fills it for hook links: `type`, `id`,
/// `prog_id`, then (in the per-type union) the attach type and target.
const LINK_INFO_SIZE: usize = 20;

impl Registry {
    pub(crate) fn link_create(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, LinkCreateAttr::SIZE)?;
        let a = LinkCreateAttr::from_bytes(attr);
        let prog = prog_of(env, a.prog_fd)?;
        if a.flags != 0 || a.tail.iter().any(|&w| w != 0) {
            return Err(Errno::EINVAL);
        }
        let hook = env.hook(a.attach_type, a.target_fd)?;
        let id = self.new_link_id();
        let replaced = hook.attach(prog, Owner::Link(id), None)?;
        debug_assert!(replaced.is_none(), "a link attaches only to an empty hook");
        let link = Arc::new(LinkObject::new(id, a.attach_type, a.target_fd, hook));
        register(&mut self.links.lock(), id, &link);
        env.install(Object::Link(link)).map(u64::from)
    }

    pub(crate) fn link_update(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, LinkUpdateAttr::SIZE)?;
        let a = LinkUpdateAttr::from_bytes(attr);
        if a.flags & !BPF_F_REPLACE != 0 || (a.flags == 0 && a.old_prog_fd != 0) {
            return Err(Errno::EINVAL);
        }
        let link = link_of(env, a.link_fd)?;
        let prog = prog_of(env, a.new_prog_fd)?;
        let expected =
            if a.flags & BPF_F_REPLACE != 0 { Some(prog_of(env, a.old_prog_fd)?.id) } else { None };
        if !*link.attached.lock() {
            return Err(Errno::ENOLINK);
        }
        // Linux: a replacement that names the wrong old program is EPERM.
        let old = link
            .hook
            .attach(prog, Owner::Link(link.id), expected)
            .map_err(|e| if e == Errno::ENOENT { Errno::EPERM } else { e })?;
        drop(old);
        Ok(0)
    }

    pub(crate) fn link_detach(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, LinkDetachAttr::SIZE)?;
        let a = LinkDetachAttr::from_bytes(attr);
        drop(link_of(env, a.link_fd)?.detach());
        Ok(0)
    }

    pub(crate) fn link_next_id(
        &self,
        env: &mut dyn Env,
        uattr: u64,
        attr: &Attr,
    ) -> Result<u64, Errno> {
        let next = next_live_id(&self.links.lock(), next_id_start(attr)?)?;
        write_next_id(env, uattr, next)
    }

    pub(crate) fn link_fd_by_id(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, GetIdAttr::SIZE)?;
        let a = GetIdAttr::from_bytes(attr);
        if a.open_flags != 0 || a.fd_by_id_token_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let link = by_id(&self.links, a.start_id).ok_or(Errno::ENOENT)?;
        env.install(Object::Link(link)).map(u64::from)
    }

    /// `BPF_PROG_ATTACH`: the program replaces the hook's (atomically);
    /// with `BPF_F_REPLACE`, only if `replace_bpf_fd`'s program is the one
    /// attached (`ENOENT` otherwise). `EBUSY` while a link holds the hook.
    pub(crate) fn prog_attach(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, offset_of!(ProgAttachAttr, relative_fd))?;
        let a = ProgAttachAttr::from_bytes(attr);
        if a.attach_flags & !BPF_F_REPLACE != 0 || (a.attach_flags == 0 && a.replace_bpf_fd != 0) {
            return Err(Errno::EINVAL);
        }
        let prog = prog_of(env, a.attach_bpf_fd)?;
        let hook = env.hook(a.attach_type, a.target_fd)?;
        let expected = if a.attach_flags & BPF_F_REPLACE != 0 {
            Some(prog_of(env, a.replace_bpf_fd)?.id)
        } else {
            None
        };
        drop(hook.attach(prog, Owner::Attach, expected)?);
        Ok(0)
    }

    /// `BPF_PROG_DETACH`: removes what `BPF_PROG_ATTACH` attached (if
    /// `attach_bpf_fd` names a program, only that one): `ENOENT` if none.
    pub(crate) fn prog_detach(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, offset_of!(ProgAttachAttr, relative_fd))?;
        let a = ProgAttachAttr::from_bytes(attr);
        if a.attach_flags != 0 || a.replace_bpf_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let hook = env.hook(a.attach_type, a.target_fd)?;
        let expected = match a.attach_bpf_fd {
            0 => None,
            fd => Some(prog_of(env, fd)?.id),
        };
        drop(hook.detach(Owner::Attach, expected)?);
        Ok(0)
    }
}

/// `BPF_OBJ_GET_INFO_BY_FD` of a link.
pub(crate) fn info(
    env: &mut dyn Env,
    uattr: u64,
    a: &InfoAttr,
    link: &LinkObject,
) -> Result<u64, Errno> {
    let mut bytes = [0u8; LINK_INFO_SIZE];
    let words = [LINK_TYPE_AXIOM_HOOK, link.id, link.prog_id(), link.attach_type, link.target];
    for (i, w) in words.iter().enumerate() {
        bytes[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    write_info(env, uattr, a, &bytes)
}
