//! Program arrays (`BPF_MAP_TYPE_PROG_ARRAY`) as kernel objects: the
//! programs a tail call can reach, set and cleared by system calls.
//!
//! The array's table (in its [`Map`](crate::maps::Map)) holds each
//! program's tail-call entry address for the JIT code; the map object
//! holds the programs themselves, so their code lives while it is
//! reachable. A program using an array that holds that same program (or
//! one that uses it) is a reference cycle; as in Linux, the programs are
//! dropped when user space lets go of the array (its last descriptor or
//! pin goes: [`MapRef`](crate::object::MapRef)), not when the array itself is freed.
//!
//! Every program in an array has the same type (its owner type): set by
//! the first program loaded that uses the array or, failing that, the
//! first program stored in it; any other type is `EINVAL`.

use crate::object::{MapObject, ProgObject};
use alloc::sync::Arc;
use axiom_abi::uapi::errno::Errno;

impl MapObject {
    /// Checks (and, the first time, sets) the type of the programs this
    /// program array holds: `EINVAL` for a program of another type.
    pub fn claim_owner(&self, prog_type: u32) -> Result<(), Errno> {
        let mut slots = self.prog_slots.lock();
        match slots.owner_type {
            Some(t) if t != prog_type => Err(Errno::EINVAL),
            _ => {
                slots.owner_type = Some(prog_type);
                Ok(())
            }
        }
    }

    /// Stores `prog` in slot `index` (the update system call).
    pub fn set_program(&self, index: u32, prog: Arc<ProgObject>) -> Result<(), Errno> {
        self.claim_owner(prog.prog_type)?;
        self.map.lock().set_prog(index, prog.code.tail_call_entry())?;
        let old = self.prog_slots.lock().progs.insert(index, prog);
        if let Some(old) = old {
            self.prog_slots.lock().retire(old);
        }
        Ok(())
    }

    /// The id of the program in slot `index`.
    pub fn program_id(&self, index: u32) -> Option<u32> {
        self.prog_slots.lock().progs.get(&index).map(|p| p.id)
    }

    /// Empties slot `index` (the delete system call): `ENOENT` if empty.
    pub fn clear_program(&self, index: u32) -> Result<(), Errno> {
        let mut slots = self.prog_slots.lock();
        let old = slots.progs.remove(&index).ok_or(Errno::ENOENT)?;
        self.map.lock().set_prog(index, 0)?;
        slots.retire(old);
        Ok(())
    }
}
