//! The `bpf()` system call's command layer, shared by the kernel and a
//! host process: [`Registry::call`] reads the attribute by Linux's size
//! rules ([`crate::env`]) and hands it to the command's family, one module
//! each, over the objects of [`crate::object`] and [`crate::registry`].
//! Everything that touches a process (its memory, its file descriptors)
//! goes through [`Env`], so the same code serves the kernel's system call,
//! a host process (`process`) and a test's fake process.
//!
//! Today: `MAP_CREATE`, `MAP_LOOKUP_ELEM`, `MAP_UPDATE_ELEM`,
//! `MAP_DELETE_ELEM`, `MAP_GET_NEXT_KEY`, `MAP_LOOKUP_AND_DELETE_ELEM`,
//! `MAP_FREEZE`, `MAP_GET_NEXT_ID`, `MAP_GET_FD_BY_ID`, `PROG_LOAD`
//! (Axiom's verifier with Linux's log rules, then the JIT through
//! [`Env::load_code`]), `PROG_TEST_RUN` (socket filters and XDP),
//! `PROG_GET_NEXT_ID`, `PROG_GET_FD_BY_ID`, `OBJ_GET_INFO_BY_FD`,
//! `OBJ_PIN`, `OBJ_GET`, the link commands and `PROG_ATTACH`/`DETACH`;
//! other commands return `EINVAL` (as Linux does for commands it does not
//! know) until they arrive.

pub mod bpffs;
mod info;
pub mod link;
mod map_create;
mod map_elem;
pub mod prog;

#[cfg(test)]
mod tests;

use crate::env::{Env, read_attr};
use crate::registry::Registry;
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::types::cmd;

impl Registry {
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
            cmd::MAP_LOOKUP_ELEM => map_elem::map_lookup(env, &attr, false),
            cmd::MAP_LOOKUP_AND_DELETE_ELEM => map_elem::map_lookup(env, &attr, true),
            cmd::MAP_UPDATE_ELEM => map_elem::map_update(env, &attr),
            cmd::MAP_DELETE_ELEM => map_elem::map_delete(env, &attr),
            cmd::MAP_GET_NEXT_KEY => map_elem::map_next_key(env, &attr),
            cmd::MAP_FREEZE => map_elem::map_freeze(env, &attr),
            cmd::MAP_GET_NEXT_ID => self.map_next_id(env, uattr, &attr),
            cmd::MAP_GET_FD_BY_ID => self.map_fd_by_id(env, &attr),
            cmd::OBJ_GET_INFO_BY_FD => info::info_by_fd(env, uattr, &attr),
            cmd::PROG_LOAD => self.prog_load(env, uattr, &attr),
            cmd::PROG_TEST_RUN => prog::test_run(env, uattr, &attr),
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
}
