//! The kernel command line's `axiom.*` options, parsed once at boot into
//! a [`Config`]. Words that are not `axiom.*` belong to others and are
//! left alone; an `axiom.*` word the kernel does not know (or a known one
//! with a bad value) is kept in [`Config::unknown`] and reported on the
//! console, never silently ignored.

use alloc::vec::Vec;

/// A benchmark mode: the kernel measures instead of testing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bench {
    /// `axiom.bench=entry`: one line at entry, then exit (QEMU's floor).
    Entry,
    /// `axiom.bench=user`: the system-call benchmark, `/bin/bench`.
    User,
    /// `axiom.bench=hooks`: the hooks' dispatch figures.
    Hooks,
    /// `axiom.bench=overhead`: the hooks' price on a CPU-bound task.
    Overhead,
}

/// A deliberate failure the harness must see as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deliberate {
    /// `axiom.test=fail`: a failing test.
    Fail,
    /// `axiom.test=panic`: a panic.
    Panic,
    /// `axiom.test=fault`: a fault.
    Fault,
    /// `axiom.test=wx`: a write to kernel text.
    Wx,
    /// `axiom.test=jitalias`: a write to JIT code through the physical map.
    JitAlias,
}

/// What the command line asks of the kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `axiom.sched=fallback`: keep the built-in policy, load no BPF one.
    pub sched_fallback: bool,
    /// `axiom.harden`: constant blinding in every JIT-compiled program.
    pub harden: bool,
    /// `axiom.serve`: no tests; keep running for a host to steer.
    pub serve: bool,
    /// `axiom.bench=MODE`.
    pub bench: Option<Bench>,
    /// `axiom.soak=SECONDS` (at most an hour).
    pub soak_seconds: Option<u64>,
    /// `axiom.fuzz=N`: calls the hostile-input test makes.
    pub fuzz_calls: Option<u64>,
    /// `axiom.test=KIND`.
    pub deliberate: Option<Deliberate>,
    /// `axiom.*` words not understood, as written.
    pub unknown: Vec<&'static str>,
}

impl Config {
    /// The options of `cmdline`.
    pub fn parse(cmdline: &'static str) -> Config {
        let mut c = Config::default();
        for word in cmdline.split_ascii_whitespace().filter(|w| w.starts_with("axiom.")) {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            let known = match (key, value) {
                ("axiom.sched", "fallback") => set(&mut c.sched_fallback),
                ("axiom.harden", "") => set(&mut c.harden),
                ("axiom.serve", "") => set(&mut c.serve),
                ("axiom.bench", mode) => bench(mode).map(|b| c.bench = Some(b)).is_some(),
                ("axiom.soak", n) => {
                    n.parse().map(|s: u64| c.soak_seconds = Some(s.min(3600))).is_ok()
                }
                ("axiom.fuzz", n) => n.parse().map(|n| c.fuzz_calls = Some(n)).is_ok(),
                ("axiom.test", kind) => deliberate(kind).map(|d| c.deliberate = Some(d)).is_some(),
                _ => false,
            };
            if !known {
                c.unknown.push(word);
            }
        }
        c
    }
}

/// Whether `cmdline` asks for the entry benchmark (`axiom.bench=entry`):
/// read before the heap exists, so without parsing the rest.
pub fn entry_bench(cmdline: &str) -> bool {
    cmdline.split_ascii_whitespace().any(|w| w == "axiom.bench=entry")
}

/// The configuration parsed at boot.
static CONFIG: spin::Once<Config> = spin::Once::new();

/// Parses `cmdline` into the kernel's configuration (once, at boot).
pub fn init(cmdline: &'static str) -> &'static Config {
    CONFIG.call_once(|| Config::parse(cmdline))
}

/// The kernel's configuration (the defaults before [`init`]).
pub fn get() -> &'static Config {
    static DEFAULT: spin::Once<Config> = spin::Once::new();
    CONFIG.get().unwrap_or_else(|| DEFAULT.call_once(Config::default))
}

fn set(flag: &mut bool) -> bool {
    *flag = true;
    true
}

fn bench(mode: &str) -> Option<Bench> {
    Some(match mode {
        "entry" => Bench::Entry,
        "user" => Bench::User,
        "hooks" => Bench::Hooks,
        "overhead" => Bench::Overhead,
        _ => return None,
    })
}

fn deliberate(kind: &str) -> Option<Deliberate> {
    Some(match kind {
        "fail" => Deliberate::Fail,
        "panic" => Deliberate::Panic,
        "fault" => Deliberate::Fault,
        "wx" => Deliberate::Wx,
        "jitalias" => Deliberate::JitAlias,
        _ => return None,
    })
}

/// The kernel test of the parser: every option, others' words left
/// alone, unknown and malformed `axiom.*` words kept for the console.
pub fn parse_test() -> bool {
    let c = Config::parse(
        "console=ttyS0 axiom.harden axiom.sched=fallback axiom.bench=hooks axiom.soak=99999 \
         axiom.fuzz=12 axiom.test=wx axiom.serve axiom.bogus axiom.bench=fast axiom.fuzz=x",
    );
    let want = Config {
        sched_fallback: true,
        harden: true,
        serve: true,
        bench: Some(Bench::Hooks),
        soak_seconds: Some(3600),
        fuzz_calls: Some(12),
        deliberate: Some(Deliberate::Wx),
        unknown: alloc::vec!["axiom.bogus", "axiom.bench=fast", "axiom.fuzz=x"],
    };
    c == want && Config::parse("quiet nokaslr") == Config::default()
}
