//! How axbpf reaches a kernel's `bpf()`: this machine's system call
//! ([`Local`]), Axiom's command layer in this process ([`InProcess`]), or
//! an agent in another system over a byte stream ([`Remote`], the framing
//! of `axiom_abi::remote`). Callers describe
//! each pointer field's buffer ([`Buf`]) instead of writing addresses into
//! the attr, so one caller works with both; [`Kernel`] owns the
//! descriptors a session opens (remote ones are numbers in the agent, not
//! descriptors of this process) and closes them at the end.

use crate::failure::Failure;
use axiom_abi::remote::{self, Buffer, MAX_BODY, REQUEST_MAGIC, RESPONSE_MAGIC, Request, Response};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// A buffer behind one pointer field (the same description Axiom's
/// in-process command layer takes).
pub use axiom_bpf::process::UserBuf as Buf;

/// One way to make `bpf()` calls.
pub trait Transport {
    /// `bpf(cmd, attr)` with `bufs` behind the attr's pointer fields: the
    /// result, or the errno (and the agent's reason, if it refused the
    /// call itself).
    fn bpf(&mut self, cmd: u32, attr: &mut [u8], bufs: &mut [Buf]) -> Result<i64, CallError>;
    /// Closes a descriptor a call returned.
    fn close(&mut self, fd: i32);
    /// Removes a pin.
    fn unlink(&mut self, path: &Path) -> Result<(), CallError>;
}

/// A refused call.
#[derive(Debug)]
pub struct CallError {
    /// Its errno.
    pub errno: i32,
    /// Why, when not the kernel said so (the agent, the line).
    pub reason: Option<String>,
}

impl From<i32> for CallError {
    fn from(errno: i32) -> Self {
        CallError { errno, reason: None }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (errno {})", std::io::Error::from_raw_os_error(self.errno), self.errno)?;
        if let Some(r) = &self.reason {
            write!(f, ": {r}")?;
        }
        Ok(())
    }
}

/// Writes each buffer's address in this process into its pointer field,
/// in the attr or in an earlier buffer.
pub fn place_pointers(attr: &mut [u8], bufs: &mut [Buf]) -> Result<(), i32> {
    let addresses: Vec<u64> = bufs.iter_mut().map(|b| b.data.as_mut_ptr() as u64).collect();
    axiom_bpf::process::place_pointers(attr, bufs, &addresses).map_err(|e| e.0)
}

/// This machine's `bpf()`.
pub struct Local;

impl Transport for Local {
    fn bpf(&mut self, cmd: u32, attr: &mut [u8], bufs: &mut [Buf]) -> Result<i64, CallError> {
        place_pointers(attr, bufs)?;
        Ok(crate::sys::bpf(cmd, attr)?)
    }
    fn close(&mut self, fd: i32) {
        crate::sys::close(fd);
    }
    fn unlink(&mut self, path: &Path) -> Result<(), CallError> {
        std::fs::remove_file(path).map_err(|e| CallError::from(e.raw_os_error().unwrap_or(0)))
    }
}

/// Axiom's `bpf()` command layer in this process: the same code as the
/// kernel's system call, over a process of its own
/// (`axiom_bpf::process`).
#[derive(Default)]
pub struct InProcess(axiom_bpf::process::Process);

impl Transport for InProcess {
    fn bpf(&mut self, cmd: u32, attr: &mut [u8], bufs: &mut [Buf]) -> Result<i64, CallError> {
        self.0.call(cmd, attr, bufs).map(|v| v as i64).map_err(|e| CallError::from(e.0))
    }
    fn close(&mut self, fd: i32) {
        let _ = self.0.close(fd as u32);
    }
    fn unlink(&mut self, path: &Path) -> Result<(), CallError> {
        self.0.unlink(&path.to_string_lossy()).map_err(|e| CallError::from(e.0))
    }
}

/// A byte stream both ways.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// An agent at the other end of a Unix socket (QEMU's character device)
/// or a serial line.
pub struct Remote {
    stream: Box<dyn Stream>,
    next_id: u32,
    what: String,
}

/// How long an answer may take (a verifier under TCG, a slow line).
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// Reads the next frame starting with `magic` and returns its body.
/// Anything that is not a whole frame with a good checksum is skipped (a
/// byte at a time, looking for the magic again); `Ok(None)` at the end of
/// the stream.
pub fn read_frame(r: &mut impl Read, magic: [u8; 4]) -> std::io::Result<Option<Vec<u8>>> {
    let mut window = [0u8; 4];
    let mut byte = [0u8; 1];
    loop {
        if r.read(&mut byte)? == 0 {
            return Ok(None);
        }
        window.rotate_left(1);
        window[3] = byte[0];
        if window != magic {
            continue;
        }
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_BODY {
            window = [0; 4];
            continue;
        }
        let mut body = vec![0u8; len + 4];
        r.read_exact(&mut body)?;
        let crc = u32::from_le_bytes(body[len..].try_into().unwrap_or([0; 4]));
        body.truncate(len);
        if remote::crc_ok(&body, crc) {
            return Ok(Some(body));
        }
        window = [0; 4];
    }
}

impl Remote {
    /// Connects to the agent at `path` (a Unix socket, or a serial
    /// device) and starts a session.
    pub fn connect(path: &Path) -> Result<Remote, Failure> {
        use std::os::unix::fs::FileTypeExt;
        let fail = |m: String| Failure { message: m, log: String::new() };
        let meta = std::fs::metadata(path)
            .map_err(|e| fail(format!("--remote {}: {e}", path.display())))?;
        let stream: Box<dyn Stream> = if meta.file_type().is_socket() {
            let s = std::os::unix::net::UnixStream::connect(path)
                .map_err(|e| fail(format!("--remote {}: {e}", path.display())))?;
            s.set_read_timeout(Some(ANSWER_WITHIN)).ok();
            Box::new(s)
        } else {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| fail(format!("--remote {}: {e}", path.display())))?;
            crate::sys::raw_tty(&f);
            Box::new(f)
        };
        let mut r = Remote { stream, next_id: 1, what: path.display().to_string() };
        let hello = r.exchange(&Request::Hello).map_err(|e| fail(e.to_string()))?;
        if hello.result != remote::VERSION as i64 {
            return Err(fail(format!(
                "--remote {}: the agent speaks framing version {} (axbpf: {})",
                r.what,
                hello.result,
                remote::VERSION
            )));
        }
        Ok(r)
    }

    /// Sends a request and waits for its answer.
    fn exchange(&mut self, request: &Request) -> Result<Response, CallError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let line = |what: String| CallError { errno: libc::EIO, reason: Some(what) };
        let body = remote::encode_request(id, request);
        self.stream
            .write_all(&remote::frame(REQUEST_MAGIC, &body))
            .and_then(|()| self.stream.flush())
            .map_err(|e| line(format!("sending to the agent at {}: {e}", self.what)))?;
        loop {
            let body = match read_frame(&mut self.stream, RESPONSE_MAGIC) {
                Ok(Some(b)) => b,
                Ok(None) => return Err(line(format!("the agent at {} hung up", self.what))),
                Err(e) => {
                    return Err(line(format!(
                        "no answer from the agent at {} ({e}): is the guest running its agent?",
                        self.what
                    )));
                }
            };
            let (_, response) = remote::decode_response(&body)
                .map_err(|e| line(format!("the agent's answer: {e}")))?;
            // An answer to an earlier request that timed out: skip it.
            if response.id == id || response.id == 0 {
                return Ok(response);
            }
        }
    }
}

impl Transport for Remote {
    fn bpf(&mut self, cmd: u32, attr: &mut [u8], bufs: &mut [Buf]) -> Result<i64, CallError> {
        let buffers = bufs
            .iter()
            .map(|b| Buffer {
                parent: b.parent,
                offset: b.offset,
                dir: b.dir,
                len: b.data.len() as u32,
                data: if b.dir.sends() { b.data.clone() } else { Vec::new() },
            })
            .collect();
        let r = self.exchange(&Request::Bpf { cmd, attr: attr.to_vec(), buffers })?;
        if r.attr.len() == attr.len() {
            attr.copy_from_slice(&r.attr);
        }
        for (b, back) in bufs.iter_mut().zip(&r.buffers) {
            if b.dir.returns() {
                // Trailing zeros do not cross the line.
                let n = back.len().min(b.data.len());
                b.data[..n].copy_from_slice(&back[..n]);
                b.data[n..].fill(0);
            }
        }
        if r.result < 0 {
            return Err(CallError {
                errno: r.errno,
                reason: (!r.message.is_empty()).then(|| format!("the agent: {}", r.message)),
            });
        }
        Ok(r.result)
    }

    fn close(&mut self, fd: i32) {
        let _ = self.exchange(&Request::Close(fd));
    }

    fn unlink(&mut self, path: &Path) -> Result<(), CallError> {
        let r = self.exchange(&Request::Unlink(path.as_os_str().as_encoded_bytes().to_vec()))?;
        if r.result < 0 {
            return Err(CallError {
                errno: r.errno,
                reason: (!r.message.is_empty()).then(|| format!("the agent: {}", r.message)),
            });
        }
        Ok(())
    }
}

/// A kernel reached through a transport, with the descriptors this
/// session opened (closed when it ends).
pub struct Kernel {
    transport: Box<dyn Transport>,
    local: bool,
    who: &'static str,
    open: Vec<i32>,
}

impl Kernel {
    /// This machine's kernel.
    pub fn local() -> Kernel {
        Kernel { transport: Box::new(Local), local: true, who: "Linux", open: Vec::new() }
    }

    /// Axiom's command layer in this process.
    pub fn in_process() -> Kernel {
        let transport = Box::<InProcess>::default();
        Kernel { transport, local: false, who: "Axiom", open: Vec::new() }
    }

    /// The kernel behind the agent at `path`.
    pub fn remote(path: &Path) -> Result<Kernel, Failure> {
        let transport = Box::new(Remote::connect(path)?);
        Ok(Kernel { transport, local: false, who: "the remote kernel", open: Vec::new() })
    }

    /// Whether this is this machine's kernel (its descriptors are this
    /// process's).
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// Who answers its calls, for messages (`Linux`, `Axiom`, `the remote
    /// kernel`).
    pub fn who(&self) -> &'static str {
        self.who
    }

    /// The largest verifier log worth asking for (a serial line carries
    /// less).
    pub fn log_limit(&self) -> usize {
        if self.who == "the remote kernel" { 1 << 20 } else { 1 << 24 }
    }

    /// A call.
    pub fn call(&mut self, cmd: u32, attr: &mut [u8], bufs: &mut [Buf]) -> Result<i64, CallError> {
        self.transport.bpf(cmd, attr, bufs)
    }

    /// A call that returns a new descriptor, kept until the session ends.
    pub fn call_fd(
        &mut self,
        cmd: u32,
        attr: &mut [u8],
        bufs: &mut [Buf],
    ) -> Result<i32, CallError> {
        let fd = self.transport.bpf(cmd, attr, bufs)? as i32;
        self.open.push(fd);
        Ok(fd)
    }

    /// Closes a descriptor of this session now.
    pub fn close(&mut self, fd: i32) {
        if let Some(i) = self.open.iter().position(|&f| f == fd) {
            self.open.swap_remove(i);
            self.transport.close(fd);
        }
    }

    /// Removes a pin.
    pub fn unlink(&mut self, path: &Path) -> Result<(), CallError> {
        self.transport.unlink(path)
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        for fd in std::mem::take(&mut self.open) {
            self.transport.close(fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axiom_abi::remote::Dir;

    #[test]
    fn frames_are_found_after_noise_and_bad_checksums() {
        let good = remote::frame(RESPONSE_MAGIC, b"body");
        let mut bad = remote::frame(RESPONSE_MAGIC, b"xxxx");
        let n = bad.len();
        bad[n - 1] ^= 1;
        let mut stream = b"noise AX".to_vec();
        stream.extend_from_slice(&bad);
        stream.extend_from_slice(&good);
        let mut r = &stream[..];
        assert_eq!(read_frame(&mut r, RESPONSE_MAGIC).unwrap(), Some(b"body".to_vec()));
        assert_eq!(read_frame(&mut r, RESPONSE_MAGIC).unwrap(), None);
    }

    #[test]
    fn an_oversized_length_is_skipped() {
        let mut stream = RESPONSE_MAGIC.to_vec();
        stream.extend_from_slice(&u32::MAX.to_le_bytes());
        stream.extend_from_slice(&remote::frame(RESPONSE_MAGIC, b"ok"));
        let mut r = &stream[..];
        assert_eq!(read_frame(&mut r, RESPONSE_MAGIC).unwrap(), Some(b"ok".to_vec()));
    }

    #[test]
    fn pointers_go_into_the_attr_and_into_earlier_buffers() {
        let mut attr = [0u8; 16];
        let mut bufs = vec![
            Buf { parent: 0, offset: 8, dir: Dir::InOut, data: vec![0; 64] },
            Buf { parent: 1, offset: 56, dir: Dir::Out, data: vec![0; 4] },
        ];
        place_pointers(&mut attr, &mut bufs).unwrap();
        let a = u64::from_ne_bytes(attr[8..16].try_into().unwrap());
        assert_eq!(a, bufs[0].data.as_ptr() as u64);
        let b = u64::from_ne_bytes(bufs[0].data[56..64].try_into().unwrap());
        assert_eq!(b, bufs[1].data.as_ptr() as u64);
        // A field outside its parent, a parent that is not earlier.
        let mut bufs = vec![Buf { parent: 0, offset: 12, dir: Dir::In, data: vec![1] }];
        assert_eq!(place_pointers(&mut attr, &mut bufs), Err(libc::EINVAL));
        let mut bufs = vec![Buf { parent: 1, offset: 0, dir: Dir::In, data: vec![1; 8] }];
        assert_eq!(place_pointers(&mut attr, &mut bufs), Err(libc::EINVAL));
    }
}
