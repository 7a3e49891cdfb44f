//! BPF maps with Linux's semantics: arrays (and per-CPU arrays, one CPU),
//! hash and LRU hash maps, program arrays, ring buffers. Every value lives
//! at a fixed address for the map's life (programs hold pointers to them);
//! a deleted hash value is kept until [`Map::collect`] runs, when no
//! program does, as Linux keeps it until an RCU grace period ends.

use crate::ring::{self, RingMemory};
use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::types::map_type as mt;

/// `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`.
pub mod update {
    /// Create or replace.
    pub const ANY: u64 = 0;
    /// Create only.
    pub const NOEXIST: u64 = 1;
    /// Replace only.
    pub const EXIST: u64 = 2;
}

/// A map's shape, as `BPF_MAP_CREATE` gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSpec {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Entries (ring buffers: bytes, a power of two).
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
}

enum Storage {
    /// `max_entries * value_size` bytes, allocated once.
    Array(Box<[u8]>),
    /// Keys to values; `order` is the LRU order (front: least recent).
    Hash { entries: BTreeMap<Vec<u8>, Box<[u8]>>, lru: Option<VecDeque<Vec<u8>>> },
    /// `[max_entries, entry 0, entry 1, ...]` as `u64`s: the layout the JITs'
    /// tail calls read (an entry is a program's tail-call entry address).
    ProgArray(Box<[u64]>),
    /// A ring buffer's shared memory (Linux's layout).
    Ringbuf(RingMemory),
    /// A queue (first in, first out) or a stack (`lifo`): values without
    /// keys.
    /// Allocated whole at creation (as Linux preallocates them), so a
    /// push never allocates: `len` values from slot `head`, wrapping.
    Queue { slots: Box<[u8]>, head: usize, len: usize, lifo: bool },
}

/// One map.
pub struct Map {
    /// Its shape.
    pub spec: MapSpec,
    storage: Storage,
    /// Values deleted while a program may still hold them.
    graveyard: Vec<Box<[u8]>>,
    /// Frozen: no more updates from user space.
    pub frozen: bool,
    /// Values per entry: the CPUs for per-CPU maps, else 1.
    cpus: usize,
}

/// Where a value to store comes from.
enum Source<'a> {
    /// A program's value: the whole value, or its CPU's of a per-CPU map.
    Program(&'a [u8]),
    /// A system call's: for per-CPU maps every CPU's value, each at a
    /// multiple of the value size rounded up to 8 bytes (Linux's layout).
    User(&'a [u8]),
}

impl Map {
    /// Creates a map, with Linux's checks; per-CPU maps with one CPU.
    pub fn new(spec: MapSpec) -> Result<Map, Errno> {
        Map::with_cpus(spec, 1)
    }

    /// Creates a map for a system with `cpus` possible CPUs (a per-CPU
    /// map keeps a value for each).
    pub fn with_cpus(spec: MapSpec, cpus: u32) -> Result<Map, Errno> {
        let s = spec;
        let per_cpu =
            matches!(s.map_type, mt::PERCPU_ARRAY | mt::PERCPU_HASH | mt::LRU_PERCPU_HASH);
        let cpus = if per_cpu { cpus.max(1) as usize } else { 1 };
        let storage = match s.map_type {
            mt::ARRAY | mt::PERCPU_ARRAY => {
                if s.key_size != 4 || s.value_size == 0 || s.max_entries == 0 {
                    return Err(Errno::EINVAL);
                }
                let bytes = (s.max_entries as usize)
                    .checked_mul(s.value_size as usize)
                    .and_then(|b| b.checked_mul(cpus))
                    .filter(|&b| b <= 1 << 30)
                    .ok_or(Errno::E2BIG)?;
                // Fallible: a map's size is the user's choice, and the
                // kernel must answer ENOMEM, not fail itself.
                let mut values = Vec::new();
                values.try_reserve_exact(bytes).map_err(|_| Errno::ENOMEM)?;
                values.resize(bytes, 0u8);
                Storage::Array(values.into_boxed_slice())
            }
            mt::HASH | mt::LRU_HASH | mt::PERCPU_HASH | mt::LRU_PERCPU_HASH => {
                if s.key_size == 0 || s.value_size == 0 || s.max_entries == 0 {
                    return Err(Errno::EINVAL);
                }
                let lru =
                    matches!(s.map_type, mt::LRU_HASH | mt::LRU_PERCPU_HASH).then(VecDeque::new);
                Storage::Hash { entries: BTreeMap::new(), lru }
            }
            mt::PROG_ARRAY => {
                if s.key_size != 4 || s.value_size != 4 || s.max_entries == 0 {
                    return Err(Errno::EINVAL);
                }
                let mut a = Vec::new();
                a.try_reserve_exact(s.max_entries as usize + 1).map_err(|_| Errno::ENOMEM)?;
                a.resize(s.max_entries as usize + 1, 0u64);
                a[0] = s.max_entries as u64;
                Storage::ProgArray(a.into_boxed_slice())
            }
            mt::QUEUE | mt::STACK => {
                if s.key_size != 0 || s.value_size == 0 || s.max_entries == 0 {
                    return Err(Errno::EINVAL);
                }
                if s.value_size > 1 << 20 {
                    return Err(Errno::E2BIG);
                }
                let bytes = (s.max_entries as usize)
                    .checked_mul(s.value_size as usize)
                    .filter(|&b| b <= 1 << 30)
                    .ok_or(Errno::E2BIG)?;
                let mut slots = Vec::new();
                slots.try_reserve_exact(bytes).map_err(|_| Errno::ENOMEM)?;
                slots.resize(bytes, 0u8);
                let slots = slots.into_boxed_slice();
                Storage::Queue { slots, head: 0, len: 0, lifo: s.map_type == mt::STACK }
            }
            mt::RINGBUF => {
                if s.key_size != 0
                    || s.value_size != 0
                    || !s.max_entries.is_power_of_two()
                    || (s.max_entries as usize) < ring::PAGE
                {
                    return Err(Errno::EINVAL);
                }
                Storage::Ringbuf(RingMemory::new(s.max_entries as u64)?)
            }
            _ => return Err(Errno::EINVAL),
        };
        Ok(Map { spec, storage, graveyard: Vec::new(), frozen: false, cpus })
    }

    /// Whether it keeps a value per CPU.
    pub fn per_cpu(&self) -> bool {
        matches!(self.spec.map_type, mt::PERCPU_ARRAY | mt::PERCPU_HASH | mt::LRU_PERCPU_HASH)
    }

    /// Bytes of a value as system calls pass it: for per-CPU maps each
    /// CPU's value, rounded up to 8 bytes, one after the other.
    pub fn user_value_size(&self) -> usize {
        let vs = self.spec.value_size as usize;
        if self.per_cpu() { vs.next_multiple_of(8) * self.cpus } else { vs }
    }

    /// The running CPU's slot of a per-CPU entry (0 for other maps).
    fn cpu_slot(&self) -> usize {
        if self.per_cpu() { crate::platform::cpu_id().min(self.cpus - 1) } else { 0 }
    }

    /// The address programs use for this map: the program array's table
    /// for program arrays, else the map itself.
    pub fn program_address(&self) -> u64 {
        match &self.storage {
            Storage::ProgArray(a) => a.as_ptr() as u64,
            _ => self as *const Map as u64,
        }
    }

    /// The address of an array's first value (global data's `lddw` of a
    /// variable adds its offset); `None` for other kinds.
    pub fn value_address(&self) -> Option<u64> {
        match &self.storage {
            Storage::Array(a) => Some(a.as_ptr() as u64),
            _ => None,
        }
    }

    fn array_index(&self, key: &[u8]) -> Option<usize> {
        let i = u32::from_le_bytes(key.get(..4)?.try_into().ok()?);
        (i < self.spec.max_entries).then_some(i as usize)
    }

    /// The value stored under `key`: its address, which stays valid while
    /// the map lives (`bpf_map_lookup_elem`).
    pub fn lookup(&mut self, key: &[u8]) -> Option<u64> {
        let vs = self.spec.value_size as usize;
        let (block, slot) = (vs * self.cpus, self.cpu_slot() * vs);
        let index = self.array_index(key);
        match &mut self.storage {
            Storage::Array(a) => index.map(|i| a[i * block + slot..].as_ptr() as u64),
            Storage::Hash { entries, lru } => {
                let v = entries.get(key)?[slot..].as_ptr() as u64;
                if let Some(order) = lru {
                    order.retain(|k| k.as_slice() != key);
                    order.push_back(key.to_vec());
                }
                Some(v)
            }
            _ => None,
        }
    }

    /// Copies the value under `key` (the user-space lookup: every CPU's
    /// value for per-CPU maps, in [`Map::user_value_size`] bytes).
    pub fn read(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        let vs = self.spec.value_size as usize;
        let block = vs * self.cpus;
        let index = self.array_index(key);
        let entry = match &self.storage {
            Storage::Array(a) => &a[index? * block..][..block],
            Storage::Hash { entries, .. } => &entries.get(key)?[..],
            _ => return None,
        };
        if !self.per_cpu() {
            return Some(entry.to_vec());
        }
        let stride = vs.next_multiple_of(8);
        let mut out = vec![0u8; stride * self.cpus];
        for (c, value) in entry.chunks_exact(vs).enumerate() {
            out[c * stride..c * stride + vs].copy_from_slice(value);
        }
        Some(out)
    }

    /// Writes `source` into an entry's block (all its CPUs' values).
    fn fill(block: &mut [u8], source: &Source, vs: usize, slot: usize, per_cpu: bool) {
        match *source {
            Source::User(v) if per_cpu => {
                let stride = vs.next_multiple_of(8);
                for (c, value) in block.chunks_exact_mut(vs).enumerate() {
                    value.copy_from_slice(&v[c * stride..c * stride + vs]);
                }
            }
            Source::Program(v) if per_cpu => block[slot..slot + vs].copy_from_slice(&v[..vs]),
            Source::User(v) | Source::Program(v) => block.copy_from_slice(&v[..vs]),
        }
    }

    /// The update system call: `value` holds [`Map::user_value_size`]
    /// bytes (every CPU's value for per-CPU maps).
    pub fn update_user(&mut self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.store(key, Source::User(value), flags)
    }

    /// `bpf_map_update_elem` with Linux's flags and errors, from a
    /// program (`value` is one value: the running CPU's for per-CPU maps).
    pub fn update(&mut self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.store(key, Source::Program(value), flags)
    }

    fn store(&mut self, key: &[u8], source: Source, flags: u64) -> Result<(), Errno> {
        if flags > update::EXIST {
            return Err(Errno::EINVAL);
        }
        let vs = self.spec.value_size as usize;
        let (per_cpu, block, slot) = (self.per_cpu(), vs * self.cpus, self.cpu_slot() * vs);
        let max = self.spec.max_entries as usize;
        let index = self.array_index(key);
        match &mut self.storage {
            Storage::Array(a) => {
                let i = index.ok_or(Errno::E2BIG)?;
                if flags == update::NOEXIST {
                    return Err(Errno::EEXIST);
                }
                Map::fill(&mut a[i * block..(i + 1) * block], &source, vs, slot, per_cpu);
                Ok(())
            }
            Storage::Hash { entries, lru } => {
                let exists = entries.contains_key(key);
                match (flags, exists) {
                    (update::NOEXIST, true) => return Err(Errno::EEXIST),
                    (update::EXIST, false) => return Err(Errno::ENOENT),
                    _ => {}
                }
                if let Some(v) = entries.get_mut(key) {
                    // In place: programs holding the value see the update.
                    Map::fill(v, &source, vs, slot, per_cpu);
                } else {
                    // An entry is allocated per insert: the kernel must
                    // answer ENOMEM before its heap runs out.
                    if !crate::platform::memory_ok(key.len() + block + 64) {
                        return Err(Errno::ENOMEM);
                    }
                    if entries.len() >= max {
                        let Some(order) = lru.as_mut() else { return Err(Errno::E2BIG) };
                        // Evict the least recently used entry.
                        if let Some(old) = order.pop_front()
                            && let Some(v) = entries.remove(&old)
                        {
                            self.graveyard.push(v);
                        }
                    }
                    let mut v = vec![0u8; block].into_boxed_slice();
                    Map::fill(&mut v, &source, vs, slot, per_cpu);
                    entries.insert(key.to_vec(), v);
                }
                if let Some(order) = lru {
                    order.retain(|k| k.as_slice() != key);
                    order.push_back(key.to_vec());
                }
                Ok(())
            }
            Storage::ProgArray(a) => {
                let i = index.ok_or(Errno::E2BIG)?;
                a[i + 1] = u64::from_le_bytes(
                    match source {
                        Source::User(v) | Source::Program(v) => v,
                    }
                    .get(..8)
                    .ok_or(Errno::EINVAL)?
                    .try_into()
                    .unwrap_or([0; 8]),
                );
                Ok(())
            }
            Storage::Ringbuf(_) => Err(Errno::EINVAL),
            Storage::Queue { .. } => {
                let (Source::User(v) | Source::Program(v)) = source;
                self.push(v, flags)
            }
        }
    }

    /// `bpf_map_push_elem` (and a user-space update of a queue or stack):
    /// `BPF_EXIST` makes room by dropping the oldest value when full;
    /// otherwise a full map refuses with `E2BIG`.
    pub fn push(&mut self, value: &[u8], flags: u64) -> Result<(), Errno> {
        let vs = self.spec.value_size as usize;
        let max = self.spec.max_entries as usize;
        let Storage::Queue { slots, head, len, .. } = &mut self.storage else {
            return Err(Errno::EINVAL);
        };
        if flags != update::ANY && flags != update::EXIST {
            return Err(Errno::EINVAL);
        }
        if *len >= max {
            if flags != update::EXIST {
                return Err(Errno::E2BIG);
            }
            // The oldest goes, whichever end that is.
            *head = (*head + 1) % max;
            *len -= 1;
        }
        let at = (*head + *len) % max * vs;
        slots[at..at + vs].copy_from_slice(&value[..vs]);
        *len += 1;
        Ok(())
    }

    /// `bpf_map_peek_elem` / `bpf_map_pop_elem` (`pop`): copies the next
    /// value of a queue (oldest) or stack (newest) into `out` (the value
    /// size); `false` if it is empty. Allocates nothing.
    pub fn take_into(&mut self, pop: bool, out: &mut [u8]) -> bool {
        let vs = self.spec.value_size as usize;
        let max = self.spec.max_entries as usize;
        let Storage::Queue { slots, head, len, lifo } = &mut self.storage else { return false };
        if *len == 0 {
            return false;
        }
        let index = if *lifo { (*head + *len - 1) % max } else { *head };
        out[..vs].copy_from_slice(&slots[index * vs..(index + 1) * vs]);
        if pop {
            if !*lifo {
                *head = (*head + 1) % max;
            }
            *len -= 1;
        }
        true
    }

    /// As [`Map::take_into`], into a new buffer (the system calls).
    pub fn take(&mut self, pop: bool) -> Option<Vec<u8>> {
        let mut out = vec![0u8; self.spec.value_size as usize];
        self.take_into(pop, &mut out).then_some(out)
    }

    /// Whether this is a queue or a stack.
    pub fn is_queue(&self) -> bool {
        matches!(self.storage, Storage::Queue { .. })
    }

    /// `bpf_map_delete_elem`.
    pub fn delete(&mut self, key: &[u8]) -> Result<(), Errno> {
        let index = self.array_index(key);
        match &mut self.storage {
            Storage::Array(_) => Err(Errno::EINVAL),
            Storage::Hash { entries, lru } => {
                let v = entries.remove(key).ok_or(Errno::ENOENT)?;
                self.graveyard.push(v);
                if let Some(order) = lru {
                    order.retain(|k| k.as_slice() != key);
                }
                Ok(())
            }
            Storage::ProgArray(a) => {
                let i = index.ok_or(Errno::E2BIG)?;
                a[i + 1] = 0;
                Ok(())
            }
            Storage::Ringbuf(_) | Storage::Queue { .. } => Err(Errno::EINVAL),
        }
    }

    /// The key after `key` (`BPF_MAP_GET_NEXT_KEY`): the first key when
    /// `key` is `None` or not in the map (as Linux does for hash maps);
    /// `None` at the end. Arrays go by index; hash maps by key order.
    pub fn next_key(&self, key: Option<&[u8]>) -> Option<Vec<u8>> {
        match &self.storage {
            Storage::Array(_) | Storage::ProgArray(_) => {
                let next = match key.and_then(|k| self.array_index(k)) {
                    Some(i) => i as u32 + 1,
                    None => 0,
                };
                (next < self.spec.max_entries).then(|| next.to_le_bytes().to_vec())
            }
            Storage::Hash { entries, .. } => match key.filter(|k| entries.contains_key(*k)) {
                Some(k) => entries
                    .range::<[u8], _>((core::ops::Bound::Excluded(k), core::ops::Bound::Unbounded))
                    .next()
                    .map(|(k, _)| k.clone()),
                None => entries.keys().next().cloned(),
            },
            Storage::Ringbuf(_) | Storage::Queue { .. } => None,
        }
    }

    /// Elements stored (arrays: all of them).
    pub fn len(&self) -> usize {
        match &self.storage {
            Storage::Array(_) | Storage::ProgArray(_) => self.spec.max_entries as usize,
            Storage::Hash { entries, .. } => entries.len(),
            Storage::Ringbuf(_) => 0,
            Storage::Queue { len, .. } => *len,
        }
    }

    /// Whether it stores nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets a program array slot to a tail-call entry address (0: empty).
    pub fn set_prog(&mut self, index: u32, entry: u64) -> Result<(), Errno> {
        match &mut self.storage {
            Storage::ProgArray(a) if index < self.spec.max_entries => {
                a[index as usize + 1] = entry;
                Ok(())
            }
            Storage::ProgArray(_) => Err(Errno::E2BIG),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `bpf_ringbuf_reserve`: a record of `size` bytes (committed with
    /// [`ring::commit`]), or `None` when the ring has no room.
    pub fn reserve(&mut self, size: u64) -> Option<u64> {
        self.ring()?.reserve(size)
    }

    /// `bpf_ringbuf_output`: a record with a copy of `data`; returns
    /// whether readers should be woken (see [`ring::commit`]).
    pub fn output(&mut self, data: &[u8], flags: u64) -> Result<bool, Errno> {
        let ring = self.ring().ok_or(Errno::EINVAL)?;
        let addr = ring.reserve(data.len() as u64).ok_or(Errno::EAGAIN)?;
        ring.write(addr, data);
        Ok(ring::commit(addr, false, flags))
    }

    /// Reads the oldest committed ring-buffer record, as a reader of the
    /// mapped ring does.
    pub fn consume(&mut self) -> Option<Vec<u8>> {
        self.ring()?.consume()
    }

    /// `bpf_ringbuf_query(flags)`: `BPF_RB_AVAIL_DATA` (0), `RING_SIZE`
    /// (1), `CONS_POS` (2), `PROD_POS` (3); 0 for anything else.
    pub fn query(&self, flags: u64) -> u64 {
        let Some(r) = self.ring() else { return 0 };
        use axiom_abi::uapi::flags::ringbuf as rb;
        match flags {
            rb::BPF_RB_AVAIL_DATA => r.available(),
            rb::BPF_RB_RING_SIZE => r.size(),
            rb::BPF_RB_CONS_POS => r.consumer_pos(),
            rb::BPF_RB_PROD_POS => r.producer_pos(),
            _ => 0,
        }
    }

    /// A ring buffer's memory.
    pub fn ring(&self) -> Option<&RingMemory> {
        match &self.storage {
            Storage::Ringbuf(r) => Some(r),
            _ => None,
        }
    }

    /// Frees values deleted while programs could hold them, unless a
    /// program is running somewhere (it could hold one: see
    /// [`crate::platform::ProgramRun`]). A program can reach a value only
    /// through the map, whose lock the caller holds, so one starting now
    /// cannot get at them.
    pub fn collect(&mut self) {
        if crate::platform::programs_running() {
            return;
        }
        self.graveyard.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(map_type: u32, key: u32, value: u32, entries: u32) -> MapSpec {
        MapSpec { map_type, key_size: key, value_size: value, max_entries: entries, flags: 0 }
    }

    #[test]
    fn arrays_keep_fixed_addresses_and_linux_errors() {
        let mut m = Map::new(spec(mt::ARRAY, 4, 8, 4)).unwrap();
        let a = m.lookup(&1u32.to_le_bytes()).unwrap();
        m.update(&1u32.to_le_bytes(), &7u64.to_le_bytes(), update::ANY).unwrap();
        assert_eq!(m.lookup(&1u32.to_le_bytes()), Some(a));
        assert_eq!(m.read(&1u32.to_le_bytes()), Some(7u64.to_le_bytes().to_vec()));
        assert_eq!(m.lookup(&4u32.to_le_bytes()), None);
        assert_eq!(m.update(&9u32.to_le_bytes(), &[0; 8], 0), Err(Errno::E2BIG));
        assert_eq!(m.update(&0u32.to_le_bytes(), &[0; 8], update::NOEXIST), Err(Errno::EEXIST));
        assert_eq!(m.delete(&0u32.to_le_bytes()), Err(Errno::EINVAL));
        assert!(Map::new(spec(mt::ARRAY, 8, 8, 4)).is_err());
    }

    #[test]
    fn hash_maps_follow_the_update_flags_and_lru_evicts() {
        let mut m = Map::new(spec(mt::HASH, 4, 4, 2)).unwrap();
        let k = |i: u32| i.to_le_bytes();
        assert_eq!(m.update(&k(1), &k(10), update::EXIST), Err(Errno::ENOENT));
        m.update(&k(1), &k(10), update::NOEXIST).unwrap();
        assert_eq!(m.update(&k(1), &k(11), update::NOEXIST), Err(Errno::EEXIST));
        m.update(&k(2), &k(20), update::ANY).unwrap();
        assert_eq!(m.update(&k(3), &k(30), update::ANY), Err(Errno::E2BIG));
        m.delete(&k(1)).unwrap();
        assert_eq!(m.delete(&k(1)), Err(Errno::ENOENT));
        let mut l = Map::new(spec(mt::LRU_HASH, 4, 4, 2)).unwrap();
        l.update(&k(1), &k(10), 0).unwrap();
        l.update(&k(2), &k(20), 0).unwrap();
        l.lookup(&k(1));
        l.update(&k(3), &k(30), 0).unwrap();
        assert!(l.read(&k(2)).is_none(), "2 was least recently used");
        assert!(l.read(&k(1)).is_some() && l.read(&k(3)).is_some());
    }

    #[test]
    fn queues_and_stacks_are_preallocated_rings() {
        let mut q = Map::new(spec(mt::QUEUE, 0, 4, 3)).unwrap();
        let v = |i: u32| i.to_le_bytes();
        for round in 0..5u32 {
            // Wraps around the slots several times.
            for i in 0..3 {
                q.push(&v(round * 10 + i), update::ANY).unwrap();
            }
            assert_eq!(q.push(&v(99), update::ANY), Err(Errno::E2BIG), "full");
            assert_eq!(q.take(false).unwrap(), v(round * 10), "peek: the oldest");
            for i in 0..3 {
                assert_eq!(q.take(true).unwrap(), v(round * 10 + i));
            }
            assert_eq!(q.take(true), None);
        }
        q.push(&v(1), 0).unwrap();
        q.push(&v(2), 0).unwrap();
        q.push(&v(3), 0).unwrap();
        q.push(&v(4), update::EXIST).unwrap();
        assert_eq!(q.take(true).unwrap(), v(2), "BPF_EXIST dropped the oldest");
        let mut s = Map::new(spec(mt::STACK, 0, 4, 3)).unwrap();
        for i in 1..=3 {
            s.push(&v(i), 0).unwrap();
        }
        s.push(&v(4), update::EXIST).unwrap();
        assert_eq!(s.take(true).unwrap(), v(4), "a stack gives the newest");
        assert_eq!(s.take(true).unwrap(), v(3));
        assert_eq!(s.take(true).unwrap(), v(2), "1 was the oldest, dropped");
        assert_eq!(s.take(true), None);
    }

    #[test]
    fn per_cpu_maps_keep_a_value_per_cpu_in_linux_layout() {
        for kind in [mt::PERCPU_ARRAY, mt::PERCPU_HASH, mt::LRU_PERCPU_HASH] {
            let mut m = Map::with_cpus(spec(kind, 4, 4, 2), 3).unwrap();
            assert_eq!(m.user_value_size(), 24, "3 CPUs x 4 bytes rounded up to 8");
            let key = 1u32.to_le_bytes();
            let mut user = [0u8; 24];
            for c in 0..3 {
                user[8 * c..8 * c + 4].copy_from_slice(&(10 + c as u32).to_le_bytes());
                user[8 * c + 4..8 * c + 8].copy_from_slice(&[0xee; 4]); // padding: ignored
            }
            m.update_user(&key, &user, update::ANY).unwrap();
            let mut want = user;
            for c in 0..3 {
                want[8 * c + 4..8 * c + 8].fill(0);
            }
            assert_eq!(m.read(&key).unwrap(), want);
            // A program (on CPU 0 here) sees and writes its CPU's value only.
            let p = m.lookup(&key).unwrap();
            assert_eq!(Some(p), m.lookup(&key));
            m.update(&key, &99u32.to_le_bytes(), update::EXIST).unwrap();
            assert_eq!(m.read(&key).unwrap()[..12], [99, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0]);
        }
        assert_eq!(Map::with_cpus(spec(mt::ARRAY, 4, 4, 2), 3).unwrap().user_value_size(), 4);
    }

    #[test]
    fn ring_buffers_keep_linux_layout_and_order() {
        let page = ring::PAGE as u32;
        let mut r = Map::new(spec(mt::RINGBUF, 0, 0, page)).unwrap();
        let a = r.reserve(16).unwrap();
        let b = r.reserve(16).unwrap();
        let base = r.ring().unwrap().base();
        assert_eq!(a, base + 2 * page as u64 + 8, "first record after the two control pages");
        assert_eq!(b, a + 24);
        assert_eq!(r.consume(), None, "a reserved record holds the reader back");
        assert!(!ring::commit(b, false, 0), "reader is not at b");
        assert!(ring::commit(a, true, 0), "reader is at a: wake it");
        assert_eq!(r.query(0), 48);
        assert_eq!(r.query(3), 48);
        assert_eq!(r.consume().unwrap().len(), 16, "discarded a skipped, b read");
        assert_eq!(r.query(2), 48);
        assert!(!r.output(&[1, 2, 3], ring::NO_WAKEUP).unwrap());
        assert_eq!(r.consume().unwrap(), [1, 2, 3]);
        // Fill, then wrap: a record never crosses the end of the ring.
        let mut n = 0u32;
        while r.output(&n.to_le_bytes(), 0).is_ok() {
            n += 1;
        }
        assert_eq!(r.output(&[0; 8], 0), Err(Errno::EAGAIN));
        for i in 0..n {
            assert_eq!(r.consume().unwrap(), i.to_le_bytes());
        }
        // A reader that keeps up is woken by every record, including one
        // that follows the padding at the end of the ring.
        for i in 0..1000u32 {
            let rec = [i as u8; 100];
            assert_eq!(r.output(&rec, 0), Ok(true), "record {i} wakes the reader");
            assert_eq!(r.consume().unwrap(), rec);
        }
        assert!(r.reserve(page as u64 - 8).is_none(), "bigger than the ring allows");
        assert!(Map::new(spec(mt::RINGBUF, 0, 0, 3 * page)).is_err());
        assert!(Map::new(spec(mt::RINGBUF, 0, 0, 64)).is_err());
    }
}
