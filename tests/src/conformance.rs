//! The BPF conformance suite's `.data` files: reading them, and running them
//! on the reference interpreter.
//!
//! A file has sections headed by `-- name` lines: `asm` (the program in the
//! suite's assembly syntax), `raw` (the program as 64-bit words or bytes;
//! takes precedence), `mem` (input memory as hex bytes), `result` (the
//! expected 64-bit `r0`), `error`, and `c` / `no register offset`, which
//! carry nothing to run. `#` starts a comment outside `c`.

use axiom_abi::Insn;
use axiom_jit::interp::{EnvError, HostEnv, Interpreter, Region, Stack};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One parsed `.data` file.
#[derive(Clone, Debug, Default)]
pub struct TestCase {
    /// File name without directory.
    pub name: String,
    /// The `-- asm` text, if any.
    pub asm: Option<String>,
    /// The `-- raw` slots, if any.
    pub raw: Option<Vec<Insn>>,
    /// Input memory.
    pub mem: Vec<u8>,
    /// Expected `r0`.
    pub result: Option<u64>,
    /// Text of the `-- error` section, if present.
    pub error: Option<String>,
}

/// Why a file could not be read or run.
#[derive(Debug)]
pub enum CaseError {
    /// The file is malformed.
    Parse(String),
    /// The program does not assemble.
    Asm(axiom_abi::asm::AsmError),
}

impl std::fmt::Display for CaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaseError::Parse(m) => write!(f, "malformed file: {m}"),
            CaseError::Asm(e) => write!(f, "assembly: {e}"),
        }
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses the text of a `.data` file.
pub fn parse(name: &str, text: &str) -> Result<TestCase, CaseError> {
    let mut case = TestCase { name: name.to_string(), ..Default::default() };
    let mut section: Option<String> = None;
    let mut asm = String::new();
    let mut raw_words: Vec<String> = Vec::new();
    let mut error = String::new();
    let mut result_text = String::new();
    for line in text.lines() {
        if let Some(head) = line.strip_prefix("--") {
            let head = head.trim().to_string();
            match head.as_str() {
                "asm" | "raw" | "mem" | "result" | "error" | "c" | "no register offset" => {}
                other => return Err(CaseError::Parse(format!("unknown section `-- {other}`"))),
            }
            section = Some(head);
            continue;
        }
        let Some(sec) = section.as_deref() else {
            continue; // Preamble: licence comments.
        };
        if sec == "c" || sec == "no register offset" {
            continue;
        }
        let body = line.split('#').next().unwrap_or("");
        match sec {
            "asm" => {
                asm.push_str(line);
                asm.push('\n');
                let _ = case.asm.get_or_insert_with(String::new);
            }
            "raw" => raw_words.extend(body.split_whitespace().map(str::to_string)),
            "mem" => {
                for b in body.split_whitespace() {
                    let v = u8::from_str_radix(b, 16)
                        .map_err(|_| CaseError::Parse(format!("bad memory byte `{b}`")))?;
                    case.mem.push(v);
                }
            }
            "result" => result_text.push_str(body),
            _ => {
                error.push_str(line);
                error.push('\n');
                let _ = case.error.get_or_insert_with(String::new);
            }
        }
    }
    if case.asm.is_some() {
        case.asm = Some(asm);
    }
    if case.error.is_some() {
        case.error = Some(error.trim().to_string());
    }
    if !result_text.trim().is_empty() {
        case.result = Some(
            parse_u64(&result_text)
                .ok_or_else(|| CaseError::Parse(format!("bad result `{}`", result_text.trim())))?,
        );
    }
    if !raw_words.is_empty() {
        case.raw = Some(parse_raw(&raw_words)?);
    }
    Ok(case)
}

/// `-- raw` holds either one `0x` 64-bit word per slot, or bytes.
fn parse_raw(words: &[String]) -> Result<Vec<Insn>, CaseError> {
    if words.iter().all(|w| w.starts_with("0x")) {
        words
            .iter()
            .map(|w| {
                parse_u64(w)
                    .map(Insn::from_u64)
                    .ok_or_else(|| CaseError::Parse(format!("bad word `{w}`")))
            })
            .collect()
    } else {
        let bytes: Vec<u8> = words
            .iter()
            .map(|w| {
                u8::from_str_radix(w, 16).map_err(|_| CaseError::Parse(format!("bad byte `{w}`")))
            })
            .collect::<Result<_, _>>()?;
        let slots = Insn::slice_from_bytes(&bytes).ok_or_else(|| {
            CaseError::Parse(format!("{} raw bytes is not whole slots", bytes.len()))
        })?;
        Ok(slots.collect())
    }
}

impl TestCase {
    /// The program's slots: `-- raw` if present, else the assembled `-- asm`.
    pub fn program(&self) -> Result<Vec<Insn>, CaseError> {
        if let Some(raw) = &self.raw {
            return Ok(raw.clone());
        }
        let asm = self.asm.as_deref().ok_or_else(|| CaseError::Parse("no program".into()))?;
        let prog = axiom_abi::asm::assemble(asm).map_err(CaseError::Asm)?;
        if prog.is_empty() {
            return Err(CaseError::Parse("empty program".into()));
        }
        Ok(prog)
    }
}

/// Reads every `*.data` file of a directory, sorted by name.
pub fn load_dir(dir: &Path) -> std::io::Result<Vec<(PathBuf, String)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "data"))
        .collect();
    files.sort();
    files.into_iter().map(|p| std::fs::read_to_string(&p).map(|t| (p, t))).collect()
}

/// Address at which the input memory is placed for a run.
pub const MEM_BASE: u64 = 0x0000_1000_0000;

/// The helpers the suite's programs call: only `call_unwind_fail` and
/// `callx` call one (id 5, whose result they discard), so helper 5 returns a
/// fixed value. Linux's helper 5 is `bpf_ktime_get_ns`.
fn helper_5(_: [u64; 5], _: &mut [Region], _: &mut Stack) -> Result<u64, EnvError> {
    Ok(0)
}

/// The interpreter environment for one case: its memory at [`MEM_BASE`].
pub fn env_for(case: &TestCase) -> HostEnv {
    let mut env = HostEnv::default();
    env.add_region(MEM_BASE, case.mem.clone(), true);
    env.helpers.insert(5, helper_5);
    env
}

/// Runs a case on the interpreter; returns `r0`.
pub fn run_interpreter(case: &TestCase) -> Result<u64, String> {
    run_interpreter_with_memory(case).map(|(r0, _)| r0)
}

/// Runs a case on the interpreter; returns `r0` and the input memory as the
/// program left it.
pub fn run_interpreter_with_memory(case: &TestCase) -> Result<(u64, Vec<u8>), String> {
    let prog: Rc<[Insn]> = case.program().map_err(|e| e.to_string())?.into();
    let mut env = env_for(case);
    let r1 = if case.mem.is_empty() { 0 } else { MEM_BASE };
    let out = Interpreter::default()
        .run(&mut env, prog, &[r1, case.mem.len() as u64])
        .map_err(|f| f.to_string())?;
    Ok((out.r0, env.regions.swap_remove(0).data))
}
