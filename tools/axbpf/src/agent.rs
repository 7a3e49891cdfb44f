//! `axbpf agent DEVICE`: the guest's end of the remote `bpf()` transport
//! (`axiom_abi::remote`). It reads requests from a serial line, performs
//! each with its own buffers and returns what the kernel said.
//!
//! Every request is hostile input: only the commands of
//! [`remote::command_spec`] are carried; every pointer field the kernel
//! will follow holds one of the agent's buffers (or zero), sized for what
//! the kernel will read or write there (a map's key and value sizes are
//! asked of the kernel first); no other byte past the fields the agent
//! knows may be set; an info structure's input is cleared but for the one
//! array the agent carries; only descriptors this agent opened may be
//! closed, at most [`MAX_OPEN`] at once; only pins under `/sys/fs/bpf/`
//! may be removed. A malformed frame is skipped; a malformed request gets
//! an answer saying why.

use crate::failure::Failure;
use crate::transport::{Buf, place_pointers, read_frame};
use axiom_abi::remote::{
    self, CommandSpec, Dir, Length, PROG_INFO_MAP_IDS, REQUEST_MAGIC, RESPONSE_MAGIC, Request,
    Response, kind,
};
use axiom_abi::uapi::attr::MapInfo;
use axiom_abi::uapi::types::{CMD_NAMES, cmd};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The most descriptors the agent keeps open for its sessions.
pub const MAX_OPEN: usize = 1024;

/// What an open descriptor is, by the command that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Map,
    Prog,
    Link,
    Other,
}

/// The agent's state: the descriptors its sessions opened.
#[derive(Default)]
pub struct Agent {
    open: BTreeMap<i32, Kind>,
}

fn refuse(errno: i32, message: String) -> Response {
    Response { result: -1, errno, message, ..Response::default() }
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    bytes.get(at..at + 8).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}

fn write_u64(bytes: &mut [u8], at: usize, v: u64) {
    if let Some(b) = bytes.get_mut(at..at + 8) {
        b.copy_from_slice(&v.to_le_bytes());
    }
}

fn command_name(c: u32) -> String {
    CMD_NAMES.iter().find(|(n, _)| *n == c).map_or(format!("command {c}"), |(_, s)| s.to_string())
}

/// The key and value sizes of the map behind `fd`, asked of the kernel.
fn map_sizes(fd: u32) -> Result<(usize, usize), i32> {
    let mut info = vec![0u8; MapInfo::SIZE];
    let mut attr = [0u8; 16];
    attr[..4].copy_from_slice(&fd.to_le_bytes());
    attr[4..8].copy_from_slice(&(info.len() as u32).to_le_bytes());
    attr[8..16].copy_from_slice(&(info.as_mut_ptr() as u64).to_ne_bytes());
    crate::sys::bpf(cmd::OBJ_GET_INFO_BY_FD, &mut attr)?;
    let m = MapInfo::from_bytes(&info);
    Ok((m.key_size as usize, crate::kernel::value_len(&m)))
}

impl Agent {
    /// Serves requests from `device` (a serial line) until it ends; with
    /// `listen`, `device` is instead a Unix socket to create, whose
    /// connections are served one after another.
    pub fn serve(device: &Path, listen: bool) -> Result<(), Failure> {
        let fail = |m: String| Failure { message: m, log: String::new() };
        let mut agent = Agent::default();
        if listen {
            let _ = std::fs::remove_file(device);
            let server = std::os::unix::net::UnixListener::bind(device)
                .map_err(|e| fail(format!("{}: {e}", device.display())))?;
            eprintln!("axbpf agent: serving bpf() on {}", device.display());
            for stream in server.incoming() {
                let stream = stream.map_err(|e| fail(format!("{}: {e}", device.display())))?;
                // A connection that breaks ends only itself.
                let _ = agent.serve_stream(&stream, &stream);
            }
            return Ok(());
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(device)
            .map_err(|e| fail(format!("{}: {e}", device.display())))?;
        crate::sys::raw_tty(&file);
        eprintln!("axbpf agent: serving bpf() on {}", device.display());
        agent.serve_stream(&file, &file).map_err(|e| fail(format!("{}: {e}", device.display())))
    }

    /// Answers the requests read from `input` on `output` until `input`
    /// ends.
    pub fn serve_stream(
        &mut self,
        input: impl std::io::Read,
        mut output: impl Write,
    ) -> std::io::Result<()> {
        let mut reader = std::io::BufReader::with_capacity(4096, input);
        while let Some(body) = read_frame(&mut reader, REQUEST_MAGIC)? {
            let (k, response) = self.answer(&body);
            let frame = remote::frame(RESPONSE_MAGIC, &remote::encode_response(k, &response));
            output.write_all(&frame)?;
            output.flush()?;
        }
        Ok(())
    }

    /// The answer to one request's body (and its kind).
    pub fn answer(&mut self, body: &[u8]) -> (u8, Response) {
        let (id, request) = match remote::decode_request(body) {
            Ok(r) => r,
            Err(e) => {
                // The id, when the body is long enough to have one, so the
                // host sees the refusal rather than waiting.
                let id = read_u32(body, 4);
                let mut r = refuse(libc::EINVAL, format!("malformed request: {e}"));
                r.id = id;
                return (body.get(2).copied().unwrap_or(0), r);
            }
        };
        let (k, mut response) = match request {
            Request::Hello => {
                for (fd, _) in std::mem::take(&mut self.open) {
                    crate::sys::close(fd);
                }
                (kind::HELLO, Response { result: remote::VERSION as i64, ..Response::default() })
            }
            Request::Close(fd) => {
                let r = if self.open.remove(&fd).is_some() {
                    crate::sys::close(fd);
                    Response::default()
                } else {
                    refuse(libc::EBADF, format!("descriptor {fd} is not one the agent opened"))
                };
                (kind::CLOSE, r)
            }
            Request::Unlink(path) => (kind::UNLINK, unlink(&path)),
            Request::Bpf { cmd, attr, buffers } => (kind::BPF, self.bpf(cmd, attr, buffers)),
        };
        response.id = id;
        (k, response)
    }

    /// Carries one `bpf()` command.
    fn bpf(&mut self, c: u32, host_attr: Vec<u8>, buffers: Vec<remote::Buffer>) -> Response {
        let Some(spec) = remote::command_spec(c) else {
            return refuse(libc::EINVAL, format!("{} is not carried", command_name(c)));
        };
        match self.prepare(c, &spec, &host_attr, buffers) {
            Err(r) => r,
            Ok(mut call) => {
                let result = match place_pointers(&mut call.attr, &mut call.bufs) {
                    Ok(()) => crate::sys::bpf(c, &mut call.attr),
                    Err(e) => Err(e),
                };
                self.finish(c, &spec, &host_attr, call, result)
            }
        }
    }

    /// Checks a command against its spec and builds the agent's attr and
    /// buffers for it.
    fn prepare(
        &self,
        c: u32,
        spec: &CommandSpec,
        host_attr: &[u8],
        buffers: Vec<remote::Buffer>,
    ) -> Result<Call, Response> {
        let name = command_name(c);
        if let Some(at) = host_attr.iter().skip(spec.known).position(|&b| b != 0) {
            return Err(refuse(
                libc::E2BIG,
                format!(
                    "{name}: byte {} is set, past the {} the agent knows",
                    spec.known + at,
                    spec.known
                ),
            ));
        }
        for &r in spec.refused {
            if read_u64(host_attr, r) != 0 {
                return Err(refuse(
                    libc::EINVAL,
                    format!("{name}: the pointer field at offset {r} is not carried"),
                ));
            }
        }
        let mut attr = host_attr.to_vec();
        let mut bufs: Vec<Buf> = Vec::with_capacity(buffers.len());
        let mut restore = Vec::new();
        // Every pointer field the agent knows: its buffer or zero.
        for ptr in spec.pointers {
            write_u64(&mut attr, ptr.offset, 0);
        }
        let map_sizes = || -> Result<(usize, usize), Response> {
            map_sizes(read_u32(host_attr, 0)).map_err(|e| refuse(e, String::new()))
        };
        let mut seen = Vec::new();
        for (i, b) in buffers.iter().enumerate() {
            if b.parent != 0 {
                let data = self.nested(c, host_attr, &buffers, i)?;
                let parent = &buffers[b.parent as usize - 1];
                let host = read_u64(&parent.data, b.offset as usize);
                restore.push((b.parent as usize - 1, b.offset as usize, host));
                bufs.push(Buf { parent: b.parent, offset: b.offset, dir: b.dir, data });
                continue;
            }
            let offset = b.offset as usize;
            let Some(ptr) = spec.pointers.iter().find(|p| p.offset == offset) else {
                return Err(refuse(
                    libc::EINVAL,
                    format!("{name}: offset {offset} is not a pointer field the agent carries"),
                ));
            };
            if seen.contains(&offset) {
                return Err(refuse(
                    libc::EINVAL,
                    format!("{name}: two buffers for offset {offset}"),
                ));
            }
            seen.push(offset);
            if ptr.dir.sends() != b.dir.sends() || ptr.dir.returns() != b.dir.returns() {
                return Err(refuse(
                    libc::EINVAL,
                    format!("{name}: the buffer for offset {offset} goes the wrong way"),
                ));
            }
            let need = match ptr.length {
                Length::MapKey => map_sizes()?.0,
                Length::MapValue => map_sizes()?.1,
                Length::Field(at) => read_u32(host_attr, at) as usize,
                Length::Product(a, b) => {
                    read_u32(host_attr, a) as usize * read_u32(host_attr, b) as usize
                }
                Length::Scaled(at, unit) => read_u32(host_attr, at) as usize * unit,
                Length::CString(max) => match b.data.iter().take(max).position(|&x| x == 0) {
                    Some(n) => n + 1,
                    None => {
                        return Err(refuse(
                            libc::EINVAL,
                            format!(
                                "{name}: the string at offset {offset} has no NUL within {max} bytes"
                            ),
                        ));
                    }
                },
            };
            if (b.len as usize) < need {
                return Err(refuse(
                    libc::EINVAL,
                    format!(
                        "{name}: the buffer for offset {offset} has {} bytes, the kernel would use {need}",
                        b.len
                    ),
                ));
            }
            let mut data = vec![0u8; b.len as usize];
            if b.dir.sends() {
                data.copy_from_slice(&b.data);
            }
            bufs.push(Buf { parent: 0, offset: b.offset, dir: b.dir, data });
        }
        // An info structure's input: cleared, but for the array carried.
        if c == cmd::OBJ_GET_INFO_BY_FD
            && let Some(info) = buffers.iter().position(|b| b.parent == 0)
        {
            let nested = buffers.iter().position(|b| b.parent as usize == info + 1);
            bufs[info].data.fill(0);
            if let Some(n) = nested {
                let count = (bufs[n].data.len() / 4) as u32;
                let (count_at, _) = PROG_INFO_MAP_IDS;
                if let Some(f) = bufs[info].data.get_mut(count_at..count_at + 4) {
                    f.copy_from_slice(&count.to_le_bytes());
                }
            }
        }
        Ok(Call { attr, bufs, restore })
    }

    /// A buffer inside another: only `bpf_prog_info`'s `map_ids`, for a
    /// descriptor this agent knows is a program.
    fn nested(
        &self,
        c: u32,
        host_attr: &[u8],
        buffers: &[remote::Buffer],
        i: usize,
    ) -> Result<Vec<u8>, Response> {
        let b = &buffers[i];
        let parent = &buffers[b.parent as usize - 1];
        let fd = read_u32(host_attr, 0) as i32;
        let ok = c == cmd::OBJ_GET_INFO_BY_FD
            && parent.parent == 0
            && b.offset as usize == PROG_INFO_MAP_IDS.1
            && b.dir == Dir::Out
            && (parent.len as usize) >= PROG_INFO_MAP_IDS.1 + 8
            && self.open.get(&fd) == Some(&Kind::Prog);
        if !ok {
            return Err(refuse(
                libc::EINVAL,
                "a buffer inside another is carried only for a program's map ids".into(),
            ));
        }
        Ok(vec![0u8; b.len as usize])
    }

    /// After the call: descriptors recorded, the attr's pointer fields put
    /// back as the host sent them, the buffers the kernel wrote returned.
    fn finish(
        &mut self,
        c: u32,
        spec: &CommandSpec,
        host_attr: &[u8],
        mut call: Call,
        result: Result<i64, i32>,
    ) -> Response {
        for ptr in spec.pointers {
            write_u64(&mut call.attr, ptr.offset, read_u64(host_attr, ptr.offset));
        }
        let mut response = Response { attr: call.attr, ..Response::default() };
        match result {
            Ok(r) => {
                response.result = r;
                if spec.returns_fd {
                    let fd = r as i32;
                    if self.open.len() >= MAX_OPEN {
                        crate::sys::close(fd);
                        return refuse(
                            libc::EMFILE,
                            format!("the agent keeps at most {MAX_OPEN} descriptors open"),
                        );
                    }
                    let k = match c {
                        cmd::MAP_CREATE | cmd::MAP_GET_FD_BY_ID => Kind::Map,
                        cmd::PROG_LOAD | cmd::PROG_GET_FD_BY_ID => Kind::Prog,
                        cmd::LINK_CREATE | cmd::LINK_GET_FD_BY_ID => Kind::Link,
                        _ => Kind::Other,
                    };
                    self.open.insert(fd, k);
                }
            }
            Err(e) => {
                response.result = -1;
                response.errno = e;
            }
        }
        // An info structure's array pointer goes back as the host had it.
        for &(parent, offset, host) in &call.restore {
            write_u64(&mut call.bufs[parent].data, offset, host);
        }
        response.buffers = call
            .bufs
            .into_iter()
            .map(|b| if b.dir.returns() { trimmed(b.data) } else { Vec::new() })
            .collect();
        response
    }
}

/// A buffer without its trailing zeros (the host fills them back in): a
/// 64 KiB verifier log holding one line crosses the line as that line.
fn trimmed(mut data: Vec<u8>) -> Vec<u8> {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    data.truncate(end);
    data
}

/// A command ready to go: the agent's attr and buffers, and the pointer
/// fields inside buffers to put back as the host had them (buffer,
/// offset, value).
struct Call {
    attr: Vec<u8>,
    bufs: Vec<Buf>,
    restore: Vec<(usize, usize, u64)>,
}

fn unlink(path: &[u8]) -> Response {
    let Ok(text) = std::str::from_utf8(path) else {
        return refuse(libc::EINVAL, "the path is not UTF-8".into());
    };
    let inside = text.starts_with("/sys/fs/bpf/")
        && !text.contains('\0')
        && !text.split('/').any(|part| part == "..");
    if !inside {
        return refuse(libc::EPERM, format!("{text}: only pins under /sys/fs/bpf/ are removed"));
    }
    match std::fs::remove_file(text) {
        Ok(()) => Response::default(),
        Err(e) => refuse(e.raw_os_error().unwrap_or(libc::EIO), String::new()),
    }
}
