//! The remote `bpf()` transport: how a host's `axbpf` hands `bpf()`
//! commands to an agent in a running Axiom (or Linux) over a byte stream
//! (a QEMU character device, the Raspberry Pi 5's UART), and what the
//! agent accepts. `docs/abi.md` describes it for people; this module is
//! the definition both ends use.
//!
//! A frame is `magic (4) | body length (u32) | body | CRC-32 of the body
//! (u32)`, little-endian. Requests start with [`REQUEST_MAGIC`], responses
//! with [`RESPONSE_MAGIC`]; a reader that meets anything else skips a byte
//! and looks for the magic again, so a line with noise or a half-sent
//! frame recovers by itself.
//!
//! A request carries a command's `bpf_attr` and the buffers its pointer
//! fields point to ([`Buffer`]): the agent copies each into its own
//! memory, writes its own pointers into the fields, makes the call, and
//! returns the result, the errno, the attr as the kernel left it (the
//! pointer fields as the host sent them) and the buffers the kernel
//! wrote. Which fields of each command are pointers, and how long their
//! buffers must be, is [`command_spec`]: a command not there is refused,
//! as is any non-zero byte past the fields it names.

use alloc::string::String;
use alloc::vec::Vec;

/// The first bytes of a request frame.
pub const REQUEST_MAGIC: [u8; 4] = *b"AXBQ";
/// The first bytes of a response frame.
pub const RESPONSE_MAGIC: [u8; 4] = *b"AXBR";
/// The framing's version, the first field of every body.
pub const VERSION: u16 = 1;
/// The largest body either side sends or accepts.
pub const MAX_BODY: usize = 2 << 20;
/// The largest `bpf_attr` a request carries.
pub const MAX_ATTR: usize = 256;
/// The most buffers one request carries.
pub const MAX_BUFFERS: usize = 8;
/// The longest path an `UNLINK` request names.
pub const MAX_PATH: usize = 4096;

/// What a request asks.
pub mod kind {
    /// A `bpf()` command.
    pub const BPF: u8 = 1;
    /// Close a descriptor an earlier command returned.
    pub const CLOSE: u8 = 2;
    /// A new session: the agent closes what the last one left open and
    /// answers with [`super::VERSION`].
    pub const HELLO: u8 = 3;
    /// Remove a pin (a path under `/sys/fs/bpf/`).
    pub const UNLINK: u8 = 4;
}

/// Which way a buffer's bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Host to kernel (a key, instructions, a path).
    In = 1,
    /// Kernel to host (a log, a value read).
    Out = 2,
    /// Both (an info structure that asks for arrays).
    InOut = 3,
}

impl Dir {
    fn from_u8(b: u8) -> Option<Dir> {
        match b {
            1 => Some(Dir::In),
            2 => Some(Dir::Out),
            3 => Some(Dir::InOut),
            _ => None,
        }
    }
    /// Whether the host sends the bytes.
    pub fn sends(self) -> bool {
        self != Dir::Out
    }
    /// Whether the agent returns the bytes.
    pub fn returns(self) -> bool {
        self != Dir::In
    }
}

/// A buffer a pointer field points to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// Where the pointer is: 0 for the attr, `k` for buffer `k - 1` (an
    /// info structure's array).
    pub parent: u16,
    /// The pointer field's byte offset in its parent.
    pub offset: u32,
    /// Which way the bytes go.
    pub dir: Dir,
    /// Its length in bytes.
    pub len: u32,
    /// The bytes sent (empty for [`Dir::Out`]).
    pub data: Vec<u8>,
}

/// A request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `bpf(cmd, attr, attr.len())` with `buffers` behind its pointers.
    Bpf {
        /// The command.
        cmd: u32,
        /// The attr, pointer fields as the host has them.
        attr: Vec<u8>,
        /// The buffers.
        buffers: Vec<Buffer>,
    },
    /// Close a descriptor.
    Close(i32),
    /// Start a session.
    Hello,
    /// Remove a pin.
    Unlink(Vec<u8>),
}

/// A response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The request's id.
    pub id: u32,
    /// The call's result (a descriptor, 0), or -1.
    pub result: i64,
    /// The errno when `result` is -1.
    pub errno: i32,
    /// The attr after the call (BPF requests).
    pub attr: Vec<u8>,
    /// Each buffer's bytes after the call (empty for [`Dir::In`]),
    /// without trailing zeros: a shorter buffer ends in zeros.
    pub buffers: Vec<Vec<u8>>,
    /// The agent's own reason when it refused a request itself.
    pub message: String,
}

/// Why a body could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// It ends early.
    Truncated,
    /// Another framing version.
    Version(u16),
    /// An unknown request kind.
    Kind(u8),
    /// A length or count beyond the limits.
    TooLarge,
    /// A bad direction or parent.
    Malformed,
    /// Bytes left after the last field.
    Trailing,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("the body ends early"),
            DecodeError::Version(v) => {
                write!(f, "framing version {v} (this side speaks {VERSION})")
            }
            DecodeError::Kind(k) => write!(f, "unknown request kind {k}"),
            DecodeError::TooLarge => f.write_str("a length or count beyond the limits"),
            DecodeError::Malformed => f.write_str("a bad buffer direction or parent"),
            DecodeError::Trailing => f.write_str("bytes after the last field"),
        }
    }
}

/// Wraps a body in a frame.
pub fn frame(magic: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(&magic);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out
}

/// Whether `crc` is the checksum of `body`.
pub fn crc_ok(body: &[u8], crc: u32) -> bool {
    crc32fast::hash(body) == crc
}

/// A cursor over a body that never reads past its end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().map_err(|_| DecodeError::Truncated)?))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| DecodeError::Truncated)?))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().map_err(|_| DecodeError::Truncated)?))
    }
    fn end(&self) -> Result<(), DecodeError> {
        if self.bytes.is_empty() { Ok(()) } else { Err(DecodeError::Trailing) }
    }
}

/// A request's body: `version u16 | kind u8 | 0 u8 | id u32 | ...`.
pub fn encode_request(id: u32, request: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&VERSION.to_le_bytes());
    let k = match request {
        Request::Bpf { .. } => kind::BPF,
        Request::Close(_) => kind::CLOSE,
        Request::Hello => kind::HELLO,
        Request::Unlink(_) => kind::UNLINK,
    };
    out.extend_from_slice(&[k, 0]);
    out.extend_from_slice(&id.to_le_bytes());
    match request {
        Request::Bpf { cmd, attr, buffers } => {
            out.extend_from_slice(&cmd.to_le_bytes());
            out.extend_from_slice(&(attr.len() as u32).to_le_bytes());
            out.extend_from_slice(attr);
            out.extend_from_slice(&(buffers.len() as u16).to_le_bytes());
            for b in buffers {
                out.extend_from_slice(&b.parent.to_le_bytes());
                out.extend_from_slice(&b.offset.to_le_bytes());
                out.push(b.dir as u8);
                out.extend_from_slice(&b.len.to_le_bytes());
                if b.dir.sends() {
                    out.extend_from_slice(&b.data);
                }
            }
        }
        Request::Close(fd) => out.extend_from_slice(&fd.to_le_bytes()),
        Request::Hello => {}
        Request::Unlink(path) => {
            out.extend_from_slice(&(path.len() as u32).to_le_bytes());
            out.extend_from_slice(path);
        }
    }
    out
}

fn header(r: &mut Reader, want: Option<u8>) -> Result<(u8, u32), DecodeError> {
    let version = r.u16()?;
    if version != VERSION {
        return Err(DecodeError::Version(version));
    }
    let k = r.u8()?;
    r.u8()?;
    if want.is_some_and(|w| w != k) {
        return Err(DecodeError::Kind(k));
    }
    Ok((k, r.u32()?))
}

/// Reads a request's body: its id and the request. Every length is
/// checked against the limits and the body's own size before use.
pub fn decode_request(body: &[u8]) -> Result<(u32, Request), DecodeError> {
    let mut r = Reader { bytes: body };
    let (k, id) = header(&mut r, None)?;
    let request = match k {
        kind::BPF => {
            let cmd = r.u32()?;
            let attr_len = r.u32()? as usize;
            if attr_len > MAX_ATTR {
                return Err(DecodeError::TooLarge);
            }
            let attr = r.take(attr_len)?.to_vec();
            let count = r.u16()? as usize;
            if count > MAX_BUFFERS {
                return Err(DecodeError::TooLarge);
            }
            let mut buffers = Vec::with_capacity(count);
            let mut total = 0usize;
            for i in 0..count {
                let parent = r.u16()?;
                let offset = r.u32()?;
                let dir = Dir::from_u8(r.u8()?).ok_or(DecodeError::Malformed)?;
                let len = r.u32()?;
                total = total.saturating_add(len as usize);
                if total > MAX_BODY {
                    return Err(DecodeError::TooLarge);
                }
                // A parent is the attr or an earlier buffer.
                if parent as usize > i {
                    return Err(DecodeError::Malformed);
                }
                let data = if dir.sends() { r.take(len as usize)?.to_vec() } else { Vec::new() };
                buffers.push(Buffer { parent, offset, dir, len, data });
            }
            Request::Bpf { cmd, attr, buffers }
        }
        kind::CLOSE => Request::Close(r.u32()? as i32),
        kind::HELLO => Request::Hello,
        kind::UNLINK => {
            let len = r.u32()? as usize;
            if len > MAX_PATH {
                return Err(DecodeError::TooLarge);
            }
            Request::Unlink(r.take(len)?.to_vec())
        }
        k => return Err(DecodeError::Kind(k)),
    };
    r.end()?;
    Ok((id, request))
}

/// A response's body: `version u16 | kind u8 | 0 u8 | id u32 | result
/// i64 | errno i32 | attr length u32 | attr | buffer count u16 | (length
/// u32 | bytes) per buffer | message length u16 | message`.
pub fn encode_response(k: u8, response: &Response) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&[k, 0]);
    out.extend_from_slice(&response.id.to_le_bytes());
    out.extend_from_slice(&response.result.to_le_bytes());
    out.extend_from_slice(&response.errno.to_le_bytes());
    out.extend_from_slice(&(response.attr.len() as u32).to_le_bytes());
    out.extend_from_slice(&response.attr);
    out.extend_from_slice(&(response.buffers.len() as u16).to_le_bytes());
    for b in &response.buffers {
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }
    let message = &response.message.as_bytes()[..response.message.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(message.len() as u16).to_le_bytes());
    out.extend_from_slice(message);
    out
}

/// Reads a response's body: its kind and the response.
pub fn decode_response(body: &[u8]) -> Result<(u8, Response), DecodeError> {
    let mut r = Reader { bytes: body };
    let (k, id) = header(&mut r, None)?;
    let result = r.i64()?;
    let errno = r.u32()? as i32;
    let attr_len = r.u32()? as usize;
    if attr_len > MAX_ATTR {
        return Err(DecodeError::TooLarge);
    }
    let attr = r.take(attr_len)?.to_vec();
    let count = r.u16()? as usize;
    if count > MAX_BUFFERS {
        return Err(DecodeError::TooLarge);
    }
    let mut buffers = Vec::with_capacity(count);
    for _ in 0..count {
        let len = r.u32()? as usize;
        buffers.push(r.take(len)?.to_vec());
    }
    let len = r.u16()? as usize;
    let message = String::from_utf8_lossy(r.take(len)?).into_owned();
    r.end()?;
    Ok((k, Response { id, result, errno, attr, buffers, message }))
}

/// How long a pointer field's buffer must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// The map's key size (the map is the attr's `map_fd`, at offset 0).
    MapKey,
    /// The map's value size (per-CPU maps: rounded up to 8 bytes, times
    /// the possible CPUs).
    MapValue,
    /// The u32 at this attr offset, in bytes.
    Field(usize),
    /// The u32 at the first offset times the u32 at the second.
    Product(usize, usize),
    /// The u32 at this offset times a constant (`insn_cnt` counts 8-byte
    /// instructions).
    Scaled(usize, usize),
    /// A NUL-terminated string of at most this many bytes.
    CString(usize),
}

/// One pointer field of a command's attr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pointer {
    /// Its byte offset.
    pub offset: usize,
    /// How long its buffer must be.
    pub length: Length,
    /// Which way its bytes go.
    pub dir: Dir,
}

/// What the agent accepts of one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandSpec {
    /// Bytes of the attr the agent knows (every byte past them must be
    /// zero, `E2BIG` as Linux answers otherwise).
    pub known: usize,
    /// The pointer fields among them: each is the agent's buffer or zero.
    pub pointers: &'static [Pointer],
    /// Fields that are pointers the agent does not carry: they must be
    /// zero.
    pub refused: &'static [usize],
    /// Whether the result is a new descriptor.
    pub returns_fd: bool,
}

const fn p(offset: usize, length: Length, dir: Dir) -> Pointer {
    Pointer { offset, length, dir }
}

const fn spec(known: usize, pointers: &'static [Pointer], returns_fd: bool) -> CommandSpec {
    CommandSpec { known, pointers, refused: &[], returns_fd }
}

use Dir::{In, InOut, Out};
use Length::{CString, Field, MapKey, MapValue, Product, Scaled};

const KEY: Pointer = p(8, MapKey, In);
const LOOKUP: &[Pointer] = &[KEY, p(16, MapValue, Out)];
const UPDATE: &[Pointer] = &[KEY, p(16, MapValue, In)];
const DELETE: &[Pointer] = &[KEY];
const NEXT_KEY: &[Pointer] = &[KEY, p(16, MapKey, Out)];
/// insns, license, log_buf, func_info, line_info.
const PROG_LOAD: &[Pointer] = &[
    p(8, Scaled(4, 8), In),
    p(16, CString(128), In),
    p(32, Field(28), Out),
    p(80, Product(76, 88), In),
    p(96, Product(92, 104), In),
];
const PATH: &[Pointer] = &[p(0, CString(MAX_PATH), In)];
/// data_in, data_out, ctx_in, ctx_out.
const TEST_RUN: &[Pointer] =
    &[p(16, Field(8), In), p(24, Field(12), Out), p(48, Field(40), In), p(56, Field(44), Out)];
const INFO: &[Pointer] = &[p(8, Field(4), InOut)];

/// The commands the agent carries, with Linux's `bpf_attr` layouts: every
/// pointer field among the bytes it knows. `None`: refused (`EINVAL`).
pub fn command_spec(cmd: u32) -> Option<CommandSpec> {
    use crate::uapi::types::cmd as c;
    Some(match cmd {
        // map_type .. map_token_fd: no pointers.
        c::MAP_CREATE => spec(80, &[], true),
        // map_fd, key, value, flags.
        c::MAP_LOOKUP_ELEM | c::MAP_LOOKUP_AND_DELETE_ELEM => spec(32, LOOKUP, false),
        c::MAP_UPDATE_ELEM => spec(32, UPDATE, false),
        c::MAP_DELETE_ELEM => spec(16, DELETE, false),
        c::MAP_GET_NEXT_KEY => spec(24, NEXT_KEY, false),
        // fd_array and core_relos are not carried.
        c::PROG_LOAD => {
            CommandSpec { known: 152, pointers: PROG_LOAD, refused: &[120, 128], returns_fd: true }
        }
        // pathname, bpf_fd, file_flags, path_fd.
        c::OBJ_PIN => spec(20, PATH, false),
        c::OBJ_GET => spec(20, PATH, true),
        c::PROG_ATTACH | c::PROG_DETACH => spec(32, &[], false),
        c::PROG_TEST_RUN => spec(76, TEST_RUN, false),
        c::PROG_GET_NEXT_ID | c::MAP_GET_NEXT_ID | c::LINK_GET_NEXT_ID => spec(12, &[], false),
        c::PROG_GET_FD_BY_ID | c::MAP_GET_FD_BY_ID | c::LINK_GET_FD_BY_ID => spec(12, &[], true),
        c::OBJ_GET_INFO_BY_FD => spec(16, INFO, false),
        c::MAP_FREEZE | c::LINK_DETACH => spec(4, &[], false),
        c::ENABLE_STATS => spec(4, &[], true),
        // prog_fd, target_fd, attach_type, flags, target_btf_id: the
        // attach-type options after them hold pointers and are not
        // carried.
        c::LINK_CREATE => spec(20, &[], true),
        c::LINK_UPDATE => spec(16, &[], false),
        _ => return None,
    })
}

/// The offsets in `struct bpf_prog_info` of the one array the agent
/// carries inside an info structure: `nr_map_ids` and `map_ids`.
pub const PROG_INFO_MAP_IDS: (usize, usize) = (52, 56);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Request {
        Request::Bpf {
            cmd: 5,
            attr: (0..72).collect(),
            buffers: alloc::vec![
                Buffer { parent: 0, offset: 8, dir: Dir::In, len: 3, data: alloc::vec![1, 2, 3] },
                Buffer { parent: 0, offset: 32, dir: Dir::Out, len: 100, data: Vec::new() },
                Buffer { parent: 1, offset: 0, dir: Dir::InOut, len: 2, data: alloc::vec![9, 9] },
            ],
        }
    }

    #[test]
    fn requests_and_responses_round_trip() {
        for req in [sample(), Request::Close(7), Request::Hello, Request::Unlink(b"/x".to_vec())] {
            let body = encode_request(42, &req);
            assert_eq!(decode_request(&body), Ok((42, req)));
        }
        let resp = Response {
            id: 9,
            result: -1,
            errno: 13,
            attr: alloc::vec![5; 16],
            buffers: alloc::vec![Vec::new(), alloc::vec![1; 10]],
            message: "refused".into(),
        };
        let body = encode_response(kind::BPF, &resp);
        assert_eq!(decode_response(&body), Ok((kind::BPF, resp)));
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let body = encode_request(1, &sample());
        for n in 0..body.len() {
            assert!(decode_request(&body[..n]).is_err(), "truncated at {n}");
        }
        let mut longer = body.clone();
        longer.push(0);
        assert_eq!(decode_request(&longer), Err(DecodeError::Trailing));
    }

    #[test]
    fn hostile_lengths_and_fields_are_refused() {
        let mut body = encode_request(1, &sample());
        // attr_len at 12: beyond the limit.
        body[12..16].copy_from_slice(&(MAX_ATTR as u32 + 1).to_le_bytes());
        assert_eq!(decode_request(&body), Err(DecodeError::TooLarge));
        let mut body = encode_request(1, &sample());
        body[0] = 2;
        assert_eq!(decode_request(&body), Err(DecodeError::Version(2)));
        let mut body = encode_request(1, &sample());
        body[2] = 99;
        assert_eq!(decode_request(&body), Err(DecodeError::Kind(99)));
        // The first buffer's parent (just after the attr and the count)
        // pointing at itself.
        let mut body = encode_request(1, &sample());
        let at = 16 + 72 + 2;
        body[at] = 1;
        assert_eq!(decode_request(&body), Err(DecodeError::Malformed));
        // A huge buffer length is refused before anything is allocated.
        let mut body = encode_request(1, &sample());
        body[at + 7..at + 11].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_request(&body), Err(DecodeError::TooLarge));
    }

    #[test]
    fn frames_carry_a_checksum() {
        let f = frame(REQUEST_MAGIC, b"hello");
        assert_eq!(&f[..4], b"AXBQ");
        assert_eq!(u32::from_le_bytes(f[4..8].try_into().unwrap()), 5);
        let crc = u32::from_le_bytes(f[13..17].try_into().unwrap());
        assert!(crc_ok(b"hello", crc));
        assert!(!crc_ok(b"hellp", crc));
    }

    #[test]
    fn every_pointer_field_lies_inside_its_command() {
        for cmd in 0..64 {
            let Some(s) = command_spec(cmd) else { continue };
            for ptr in s.pointers {
                assert!(ptr.offset + 8 <= s.known, "cmd {cmd} pointer at {}", ptr.offset);
                assert_eq!(ptr.offset % 8, 0, "cmd {cmd}: pointers are 8-aligned");
            }
            for &r in s.refused {
                assert!(r + 8 <= s.known);
            }
        }
        assert!(command_spec(crate::uapi::types::cmd::BTF_LOAD).is_none());
    }
}
