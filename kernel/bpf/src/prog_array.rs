//! Program arrays (`BPF_MAP_TYPE_PROG_ARRAY`) as kernel objects: the
//! programs a tail call can reach, set and cleared by system calls.
//!
//! The array's table (in its [`Map`](crate::maps::Map)) holds each
//! program's tail-call entry address for the JIT code; the map object
//! holds the programs themselves, so their code lives while it is
//! reachable. A program using an array that holds that same program (or
//! one that uses it) is a reference cycle; as in Linux, the programs are
//! dropped when user space lets go of the array (its last descriptor or
//! pin goes: [`MapRef`]), not when the array itself is freed.
//!
//! Every program in an array has the same type (its owner type): set by
//! the first program loaded that uses the array or, failing that, the
//! first program stored in it; any other type is `EINVAL`.

use crate::command::{MapObject, ProgObject};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use axiom_abi::uapi::errno::Errno;
use core::ops::Deref;
use core::sync::atomic::{AtomicUsize, Ordering};

/// What a program array's object keeps besides its table.
#[derive(Default)]
pub struct ProgSlots {
    /// The program type every entry has.
    owner_type: Option<u32>,
    /// The program in each slot.
    progs: BTreeMap<u32, Arc<ProgObject>>,
    /// Programs taken out while a program may have been running (one
    /// could be executing their code through a tail call): dropped once
    /// none runs.
    retired: Vec<Arc<ProgObject>>,
}

impl ProgSlots {
    fn retire(&mut self, prog: Arc<ProgObject>) {
        self.retired.push(prog);
        if !crate::platform::programs_running() {
            self.retired.clear();
        }
    }
}

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

    /// Empties every slot: user space no longer holds the array.
    fn release_programs(&self) {
        let mut slots = self.prog_slots.lock();
        let indexes: Vec<u32> = slots.progs.keys().copied().collect();
        for index in indexes {
            let _ = self.map.lock().set_prog(index, 0);
            if let Some(old) = slots.progs.remove(&index) {
                slots.retire(old);
            }
        }
    }
}

/// A reference to a map held for user space: a descriptor or a pin.
/// While any exists the map is in use by user space; when the last goes,
/// a program array lets its programs go (Linux's `usercnt`).
pub struct MapRef(Arc<MapObject>);

impl MapRef {
    /// A new user reference to `map`.
    pub fn new(map: Arc<MapObject>) -> MapRef {
        map.users.fetch_add(1, Ordering::AcqRel);
        MapRef(map)
    }

    /// The map object itself (a reference that is not user space's).
    pub fn object(&self) -> &Arc<MapObject> {
        &self.0
    }
}

impl Clone for MapRef {
    fn clone(&self) -> MapRef {
        MapRef::new(self.0.clone())
    }
}

impl Drop for MapRef {
    fn drop(&mut self) {
        if self.0.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.release_programs();
        }
    }
}

impl Deref for MapRef {
    type Target = MapObject;
    fn deref(&self) -> &MapObject {
        &self.0
    }
}

/// User references to a map (for the object's own bookkeeping).
pub(crate) fn new_user_count() -> AtomicUsize {
    AtomicUsize::new(0)
}
