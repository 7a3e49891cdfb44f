//! Where programs go: a kernel's `bpf()` ([`Bpf`]): this machine's
//! Linux, Axiom's command layer in this process (the same code as the
//! kernel's system call), or, with `--remote`, the kernel behind an
//! agent. [`verify_in_process`] runs Axiom's verifier alone, with the
//! object's source lines in its log.

use crate::failure::Failure;
use crate::transport::{Buf, Kernel};
use axiom_abi::uapi::types::cmd;
use axiom_loader::{MapDef, MapOrigin, Program};

/// A program loaded by a backend.
pub struct Loaded {
    /// The verifier's log (empty when none was asked for).
    pub log: String,
    /// The kernel's program descriptor.
    pub fd: Option<i32>,
}

/// The result of a test run.
#[derive(Clone, Copy, Debug)]
pub struct RunResult {
    /// The program's return value.
    pub retval: u32,
    /// Mean run time, nanoseconds.
    pub duration_ns: u32,
}

/// A place programs are loaded into.
pub trait Backend {
    /// Its name on the command line.
    fn name(&self) -> &'static str;
    /// Creates the object's maps (global data filled, read-only data
    /// frozen); returns their handles by index.
    fn create_maps(&mut self, maps: &[MapDef]) -> Result<Vec<i32>, Failure>;
    /// Verifies and loads `prog` with its map references resolved to
    /// `maps`.
    fn load(&mut self, prog: &Program, maps: &[i32], log_level: u32) -> Result<Loaded, Failure>;
    /// Runs a loaded program once per repeat on `data` (like
    /// `BPF_PROG_TEST_RUN`).
    fn run(&mut self, loaded: &Loaded, data: &[u8], repeat: u32) -> Result<RunResult, Failure>;
    /// The kernel behind it, for pins and attachments.
    fn kernel(&mut self) -> Option<&mut Kernel> {
        None
    }
}

/// A kernel's `bpf()`: the host Linux kernel's, Axiom's in this process,
/// or, through `--remote`, the one behind an agent (Axiom in QEMU, a
/// board on a serial line).
pub struct Bpf {
    /// The kernel and the descriptors this session opened.
    pub kernel: Kernel,
    /// Its name on the command line.
    name: &'static str,
}

impl Bpf {
    /// This machine's kernel.
    pub fn local() -> Bpf {
        Bpf { kernel: Kernel::local(), name: "linux" }
    }
    /// Axiom's command layer in this process.
    pub fn in_process() -> Bpf {
        Bpf { kernel: Kernel::in_process(), name: "axiom" }
    }
    /// The kernel behind the agent at `path`.
    pub fn remote(path: &std::path::Path) -> Result<Bpf, Failure> {
        Ok(Bpf { kernel: Kernel::remote(path)?, name: "remote" })
    }
}

impl Backend for Bpf {
    fn name(&self) -> &'static str {
        self.name
    }

    fn kernel(&mut self) -> Option<&mut Kernel> {
        Some(&mut self.kernel)
    }

    fn create_maps(&mut self, maps: &[MapDef]) -> Result<Vec<i32>, Failure> {
        use axiom_abi::uapi::attr::{MapCreateAttr, MapElemAttr};
        let mut handles = Vec::new();
        for m in maps {
            let mut name = [0u8; 16];
            for (d, s) in name.iter_mut().zip(m.name.trim_start_matches('.').bytes().take(15)) {
                *d = if s.is_ascii_alphanumeric() || s == b'_' { s } else { b'_' };
            }
            let attr = MapCreateAttr {
                map_type: m.map_type,
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: m.max_entries,
                map_flags: m.flags,
                map_name: name,
                ..MapCreateAttr::default()
            };
            let mut buf = [0u8; 128];
            attr.write_to(&mut buf);
            let fd = self
                .kernel
                .call_fd(cmd::MAP_CREATE, &mut buf, &mut [])
                .map_err(|e| Failure::new(format!("map `{}`: creation refused: {e}", m.name)))?;
            if let MapOrigin::Data { init, frozen } = &m.origin {
                let key = 0u32.to_ne_bytes();
                let attr = MapElemAttr { map_fd: fd as u32, ..MapElemAttr::default() };
                let mut buf = [0u8; 128];
                attr.write_to(&mut buf);
                let mut bufs = [Buf::input(8, &key), Buf::input(16, init)];
                self.kernel.call(cmd::MAP_UPDATE_ELEM, &mut buf, &mut bufs).map_err(|e| {
                    Failure::new(format!("map `{}`: initial data refused: {e}", m.name))
                })?;
                if *frozen {
                    let mut buf = [0u8; 128];
                    buf[..4].copy_from_slice(&(fd as u32).to_ne_bytes());
                    self.kernel.call(cmd::MAP_FREEZE, &mut buf, &mut []).map_err(|e| {
                        Failure::new(format!("map `{}`: freeze refused: {e}", m.name))
                    })?;
                }
            }
            handles.push(fd);
        }
        Ok(handles)
    }

    fn load(&mut self, prog: &Program, maps: &[i32], log_level: u32) -> Result<Loaded, Failure> {
        use axiom_abi::uapi::attr::ProgLoadAttr;
        let insns = prog.with_map_handles(|i| maps.get(i).copied().unwrap_or(-1));
        let bytes: Vec<u8> = insns.iter().flat_map(|i| i.to_bytes()).collect();
        let log_size = if log_level > 0 { self.kernel.log_limit() } else { 1 << 16 };
        let mut name = [0u8; 16];
        for (d, s) in name.iter_mut().zip(prog.name.bytes().take(15)) {
            *d = s;
        }
        let attr = ProgLoadAttr {
            prog_type: prog.prog_type,
            insn_cnt: insns.len() as u32,
            // Without a log level Linux writes nothing: ask for level 1 to
            // have the reason of a refusal.
            log_level: log_level.max(1),
            log_size: log_size as u32,
            prog_name: name,
            expected_attach_type: prog.attach_type,
            ..ProgLoadAttr::default()
        };
        let mut buf = [0u8; 168];
        attr.write_to(&mut buf);
        let mut bufs = [Buf::input(8, &bytes), Buf::input(16, b"GPL\0"), Buf::output(32, log_size)];
        let r = self.kernel.call_fd(cmd::PROG_LOAD, &mut buf, &mut bufs);
        let log = &bufs[2].data;
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let text = String::from_utf8_lossy(&log[..end]).into_owned();
        match r {
            Ok(fd) => {
                Ok(Loaded { log: if log_level > 0 { text } else { String::new() }, fd: Some(fd) })
            }
            Err(e) => Err(Failure {
                message: format!("program `{}`: {} refused it: {e}", prog.name, self.kernel.who()),
                log: text,
            }),
        }
    }

    fn run(&mut self, loaded: &Loaded, data: &[u8], repeat: u32) -> Result<RunResult, Failure> {
        use axiom_abi::uapi::attr::TestRunAttr;
        let fd = loaded.fd.ok_or_else(|| Failure::new("no program fd".into()))?;
        let attr = TestRunAttr {
            prog_fd: fd as u32,
            data_size_in: data.len() as u32,
            repeat,
            ..TestRunAttr::default()
        };
        let mut buf = [0u8; 168];
        attr.write_to(&mut buf);
        self.kernel
            .call(cmd::PROG_TEST_RUN, &mut buf, &mut [Buf::input(16, data)])
            .map_err(|e| Failure::new(format!("test run refused: {e}")))?;
        let out = TestRunAttr::from_bytes(&buf);
        Ok(RunResult { retval: out.retval, duration_ns: out.duration })
    }
}

/// Axiom's verifier on `prog` alone, as `PROG_LOAD` runs it for root (the
/// kernel's program types and helpers, the object's maps as they would be
/// created), with the object's source lines in its log: the log, or the
/// refusal with it.
pub fn verify_in_process(
    prog: &Program,
    maps: &[MapDef],
    log_level: u32,
) -> Result<String, Failure> {
    use axiom_bpf::verify::KernelPlatform;
    use axiom_verifier::platform::MapInfo;
    let info = |m: &MapDef| {
        MapInfo::new(m.map_type, m.key_size, m.value_size, m.max_entries)
            .read_only(matches!(m.origin, MapOrigin::Data { frozen: true, .. }))
    };
    // The in-process runtime runs programs on one CPU.
    let platform = KernelPlatform::numbered(maps.iter().map(info), Some(1));
    let insns = prog.with_map_handles(|i| i as i32);
    let lines: Vec<axiom_verifier::LineInfo> = prog
        .lines
        .iter()
        .map(|l| axiom_verifier::LineInfo {
            insn: l.insn,
            source: l.source.clone(),
            file: l.file.clone(),
            line: l.line,
        })
        .collect();
    let opts = axiom_verifier::Options {
        log_level: log_level.max(1),
        log_size: 1 << 24,
        allow_uninit_stack: true,
        ..axiom_verifier::Options::default()
    };
    let report =
        axiom_verifier::verify_with_lines(&insns, prog.prog_type, &platform, &opts, &lines);
    match report.result {
        Ok(_) => Ok(if log_level > 0 { report.log } else { String::new() }),
        Err(e) => Err(Failure {
            message: format!(
                "program `{}`: Axiom's verifier refused it: {} (errno {})",
                prog.name, e.message, e.errno
            ),
            log: report.log,
        }),
    }
}
