//! The verifier parity corpus: hand-written programs, each with a program
//! type, the maps it uses, and the verdict Linux gave when it was written.
//! Files in `tests/verifier-corpus/` hold cases separated by `== name`
//! lines:
//!
//! ```text
//! == lookup_without_null_check
//! type: socket_filter
//! maps: hash 4 8 16
//! expect: reject EACCES R0 invalid mem access 'map_value_or_null'
//! stdw [%r10-8], 0
//! ...
//! ```
//!
//! `maps:` lists `kind key_size value_size max_entries`, comma-separated
//! (kinds: hash, array, percpu_array, lru_hash, prog_array, ringbuf); the
//! program refers to map N as `lddw %rX, map:N`. `expect:` is `accept`, or
//! `reject ERRNO message` with Linux's errno name and the last line of its
//! log.
//!
//! The host kernel is the oracle, and it changes between machines and
//! over time. The file `ORACLE` beside the cases names the kernel release
//! every recorded verdict came from. A case is compared with the live
//! kernel where its `bpf()` works, else with the record; where the live
//! verdict differs from the record, the oracle drifted (reported with both
//! releases), which is not the same as Axiom drifting.

use crate::linux;
use axiom_abi::Insn;
use axiom_abi::uapi::types::prog_type;
use axiom_bpf::verify::KernelPlatform;
use axiom_verifier::platform::MapInfo;
use axiom_verifier::{Options, verify};
use std::os::fd::AsRawFd;
use std::path::Path;

/// One map of a case.
#[derive(Clone, Debug)]
pub struct MapSpec {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size.
    pub key: u32,
    /// Value size.
    pub value: u32,
    /// Entries.
    pub entries: u32,
}

/// A verdict: accepted, or refused with an errno and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Loaded.
    Accept,
    /// Refused.
    Reject {
        /// Linux's errno value.
        errno: i32,
        /// The reason line.
        message: String,
    },
}

impl Verdict {
    /// Whether the program was accepted.
    pub fn accepted(&self) -> bool {
        *self == Verdict::Accept
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Accept => write!(f, "accept"),
            Verdict::Reject { errno, message } => {
                write!(f, "reject {} {message}", errno_name(*errno))
            }
        }
    }
}

const ERRNOS: &[(&str, i32)] = &[
    ("EPERM", 1),
    ("E2BIG", 7),
    ("EBADF", 9),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("EINVAL", 22),
    ("ENOSPC", 28),
    ("ENOTSUPP", 524),
];

fn errno_name(e: i32) -> String {
    ERRNOS.iter().find(|(_, v)| *v == e).map_or_else(|| e.to_string(), |(n, _)| n.to_string())
}

/// A case.
#[derive(Clone, Debug)]
pub struct Case {
    /// File and name.
    pub name: String,
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// Maps, by number.
    pub maps: Vec<MapSpec>,
    /// Linux's verdict when written.
    pub expect: Verdict,
    /// The program.
    pub prog: Vec<Insn>,
}

fn map_type(kind: &str) -> Option<u32> {
    Some(match kind {
        "hash" => 1,
        "array" => 2,
        "prog_array" => 3,
        "percpu_array" => 6,
        "lru_hash" => 9,
        "ringbuf" => 27,
        _ => return None,
    })
}

/// Parses one corpus file.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let mut chunks = text.split("\n== ").map(str::trim);
    let first = chunks.next().unwrap_or("");
    let first = first.strip_prefix("== ").unwrap_or(first);
    for chunk in std::iter::once(first).chain(chunks) {
        if chunk.is_empty()
            || chunk.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let mut lines = chunk.lines();
        let name = format!("{file}:{}", lines.next().unwrap_or("").trim());
        let (mut prog_type, mut maps, mut expect, mut asm) =
            (None, Vec::new(), None, String::new());
        for line in lines {
            let l = line.trim();
            if let Some(t) = l.strip_prefix("type:") {
                prog_type = Some(match t.trim() {
                    "socket_filter" => prog_type::SOCKET_FILTER,
                    "xdp" => prog_type::XDP,
                    other => return Err(format!("{name}: unknown type {other}")),
                });
            } else if let Some(m) = l.strip_prefix("maps:") {
                for spec in m.split(',') {
                    let f: Vec<&str> = spec.split_whitespace().collect();
                    let [kind, k, v, e] = f[..] else {
                        return Err(format!("{name}: bad map `{spec}`"));
                    };
                    let num =
                        |s: &str| s.parse::<u32>().map_err(|_| format!("{name}: bad number `{s}`"));
                    maps.push(MapSpec {
                        map_type: map_type(kind)
                            .ok_or_else(|| format!("{name}: unknown map kind {kind}"))?,
                        key: num(k)?,
                        value: num(v)?,
                        entries: num(e)?,
                    });
                }
            } else if let Some(e) = l.strip_prefix("expect:") {
                let e = e.trim();
                expect = Some(if e == "accept" {
                    Verdict::Accept
                } else {
                    let rest =
                        e.strip_prefix("reject ").ok_or_else(|| format!("{name}: bad expect"))?;
                    let (errno, message) = rest.split_once(' ').unwrap_or((rest, ""));
                    let errno = ERRNOS
                        .iter()
                        .find(|(n, _)| *n == errno)
                        .map(|(_, v)| *v)
                        .ok_or_else(|| format!("{name}: unknown errno {errno}"))?;
                    Verdict::Reject { errno, message: message.to_string() }
                });
            } else {
                asm.push_str(line);
                asm.push('\n');
            }
        }
        let prog = axiom_abi::asm::assemble(&asm).map_err(|e| format!("{name}: {e}"))?;
        cases.push(Case {
            name: name.clone(),
            prog_type: prog_type.ok_or_else(|| format!("{name}: no type"))?,
            maps,
            expect: expect.ok_or_else(|| format!("{name}: no expect"))?,
            prog,
        });
    }
    Ok(cases)
}

/// Reads every `*.txt` file of the corpus directory.
pub fn load(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let name = f.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        all.extend(parse_file(&name, &text)?);
    }
    Ok(all)
}

/// The verifier's view of `maps` (map `i` as fd `i`), with the host's
/// number of possible CPUs.
pub fn platform(maps: &[MapSpec]) -> KernelPlatform {
    let info = |m: &MapSpec| MapInfo::new(m.map_type, m.key, m.value, m.entries);
    KernelPlatform::numbered(maps.iter().map(info), linux::possible_cpus())
}

/// Axiom's verdict on a case.
pub fn axiom_verdict(case: &Case) -> Verdict {
    let platform = platform(&case.maps);
    // Linux judged the cases loaded by root, which may read never-written
    // stack; Axiom compares in the same mode (its own default refuses).
    // The Linux harness loads without a log, and on failure again with a
    // level-1 log of 4 MiB (which a long verification can overflow:
    // ENOSPC); Axiom is asked the same way.
    let quiet = Options { allow_uninit_stack: true, ..Options::default() };
    if verify(&case.prog, case.prog_type, &platform, &quiet).result.is_ok() {
        return Verdict::Accept;
    }
    let logged = Options { log_level: 1, log_size: 1 << 22, ..quiet };
    match verify(&case.prog, case.prog_type, &platform, &logged).result {
        Ok(_) => Verdict::Accept,
        Err(e) => Verdict::Reject { errno: e.errno, message: e.message },
    }
}

/// Linux's verdict on a case, through the host's `bpf()`.
pub fn linux_verdict(case: &Case) -> Result<Verdict, String> {
    let mut fds = Vec::new();
    for m in &case.maps {
        fds.push(
            linux::create_map(m.map_type, m.key, m.value, m.entries)
                .map_err(|e| format!("map: {e}"))?,
        );
    }
    let mut prog = case.prog.clone();
    for i in prog.iter_mut() {
        if i.code == 0x18 && matches!(i.src, 1 | 2) {
            // A map number the case does not define stays as it is: a
            // deliberately bad fd.
            if let Some(f) = fds.get(i.imm as usize) {
                i.imm = f.as_raw_fd();
            }
        }
    }
    Ok(match linux::load_program_type(case.prog_type, &prog) {
        Ok(_) => Verdict::Accept,
        Err(r) => Verdict::Reject { errno: r.errno.0, message: r.log },
    })
}

/// The file in the corpus directory that names the kernel release its
/// verdicts were recorded on.
pub const ORACLE_FILE: &str = "ORACLE";

/// The kernel release the corpus in `dir` was recorded on, if it says.
pub fn recorded_release(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(ORACLE_FILE)).ok()?;
    text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string)
}

/// Writes `release` as the kernel the corpus in `dir` was recorded on.
pub fn write_recorded_release(dir: &Path, release: &str) -> Result<(), String> {
    let text = format!(
        "# The Linux kernel release whose verifier gave every `expect:` verdict in\n\
         # this corpus (`cargo xtask parity --record` writes it; `--refresh`\n\
         # re-asks that kernel for every case).\n{release}\n"
    );
    let path = dir.join(ORACLE_FILE);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// One case through both verifiers: Axiom's verdict, the recorded one and,
/// where the host's `bpf()` works, the live one.
#[derive(Debug)]
pub struct Compared {
    /// The case's name.
    pub name: String,
    /// Axiom's verdict.
    pub ours: Verdict,
    /// The verdict Linux gave when the case was recorded.
    pub recorded: Verdict,
    /// Linux's verdict now (`None`: no live kernel; `Err`: its harness
    /// failed on this case).
    pub live: Option<Result<Verdict, String>>,
}

impl Compared {
    /// Compares `case`, asking the live kernel too when `live`.
    pub fn new(case: &Case, live: bool) -> Compared {
        Compared {
            name: case.name.clone(),
            ours: axiom_verdict(case),
            recorded: case.expect.clone(),
            live: live.then(|| linux_verdict(case)),
        }
    }

    /// What Axiom is judged against: Linux's live verdict where there is
    /// one, else the recorded verdict.
    pub fn linux(&self) -> &Verdict {
        match &self.live {
            Some(Ok(v)) => v,
            _ => &self.recorded,
        }
    }

    /// Whether the oracle drifted: the live kernel's verdict differs from
    /// the recorded one, or its harness failed on the case.
    pub fn oracle_drifted(&self) -> bool {
        match &self.live {
            Some(Ok(v)) => *v != self.recorded,
            Some(Err(_)) => true,
            None => false,
        }
    }

    /// Whether Axiom reaches Linux's verdict (accept or refuse).
    pub fn same_verdict(&self) -> bool {
        self.ours.accepted() == self.linux().accepted()
    }

    /// Whether Axiom accepts what Linux refuses.
    pub fn unsafe_accept(&self) -> bool {
        self.ours.accepted() && !self.linux().accepted()
    }
}

/// Fills in the verdict of every case of a corpus file whose `expect:` line
/// reads `expect: ?`, by asking the host Linux kernel, and rewrites the file.
/// Returns the names of the cases recorded. Nothing else in the file changes.
pub fn record_pending(path: &Path) -> Result<Vec<String>, String> {
    record(path, false)
}

/// As [`record_pending`], and with `refresh` every case whose recorded
/// verdict the host kernel no longer gives is rewritten with its verdict
/// now.
pub fn record(path: &Path, refresh: bool) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let starts: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].starts_with("== ")).collect();
    let mut recorded = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        let Some(at) = (start..end).find(|&i| lines[i].trim_start().starts_with("expect:")) else {
            continue;
        };
        let pending = lines[at].trim() == "expect: ?";
        if !pending && !refresh {
            continue;
        }
        let block: Vec<&str> = (start..end)
            .map(|i| if i == at && pending { "expect: accept" } else { lines[i].as_str() })
            .collect();
        let cases = parse_file(&file, &block.join("\n"))?;
        let [case] = &cases[..] else {
            return Err(format!("{file}: block at line {} is not one case", start + 1));
        };
        let verdict = linux_verdict(case)?;
        if !pending && verdict == case.expect {
            continue;
        }
        lines[at] = format!("expect: {verdict}");
        recorded.push(case.name.clone());
    }
    if !recorded.is_empty() {
        let mut out = lines.join("\n");
        out.push('\n');
        std::fs::write(path, out).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compared(
        ours: Verdict,
        recorded: Verdict,
        live: Option<Result<Verdict, String>>,
    ) -> Compared {
        Compared { name: "t".into(), ours, recorded, live }
    }

    fn refused(errno: i32) -> Verdict {
        Verdict::Reject { errno, message: "m".into() }
    }

    #[test]
    fn a_live_verdict_that_differs_from_the_record_is_oracle_drift() {
        // The issue's case: Linux changed the errno, Axiom did not move.
        let c = compared(refused(14), refused(14), Some(Ok(refused(7))));
        assert!(c.oracle_drifted());
        assert_eq!(*c.linux(), refused(7), "judged against the live kernel");
        assert!(c.same_verdict() && !c.unsafe_accept());
        // No live kernel: the record is the reference, nothing drifts.
        let c = compared(Verdict::Accept, refused(13), None);
        assert!(!c.oracle_drifted() && c.unsafe_accept());
        // The live kernel agrees with the record: Axiom's disagreement is
        // Axiom's.
        let c = compared(Verdict::Accept, refused(13), Some(Ok(refused(13))));
        assert!(!c.oracle_drifted() && c.unsafe_accept());
        // A harness failure is drift too, and leaves the record in charge.
        let c = compared(refused(13), refused(13), Some(Err("map".into())));
        assert!(c.oracle_drifted() && *c.linux() == refused(13));
    }
}
