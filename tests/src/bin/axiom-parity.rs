//! The verifier parity report: every case of the corpus through Axiom's
//! verifier and, where the host allows `bpf()`, through Linux's, with the
//! verdict Linux gave when the case was written beside them.
//!
//! `axiom-parity --record` asks Linux for the verdict of every case whose
//! file says `expect: ?` and writes it into the file; with `--refresh` it
//! also re-records every case whose verdict the host kernel no longer
//! gives, and writes the host's release into the corpus's `ORACLE` file.
//!
//! A case whose live verdict differs from its record is oracle drift
//! (the host kernel changed, not Axiom): reported with both releases, and
//! a failure only with `--strict`. Axiom accepting what Linux refuses is
//! always a failure.

use axiom_tests::linux::release;
use axiom_tests::paths::repo_root;
use axiom_tests::vcorpus::{
    Case, Compared, load, record, recorded_release, write_recorded_release,
};
use clap::Parser;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Axiom's verifier against Linux's, case by case.
#[derive(Parser)]
#[command(name = "axiom-parity")]
struct Args {
    /// Corpus directory (default: tests/verifier-corpus).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Fill in `expect: ?` lines with Linux's verdict first.
    #[arg(long)]
    record: bool,
    /// With `--record`: re-record every case whose verdict the host
    /// kernel no longer gives, and name the host's release in `ORACLE`.
    #[arg(long, requires = "record")]
    refresh: bool,
    /// Fail on oracle drift too (live verdicts that differ from the
    /// record), not only on Axiom accepting what Linux refuses.
    #[arg(long)]
    strict: bool,
    /// Print every case, not only those that differ.
    #[arg(long)]
    all: bool,
    /// Only the cases whose name contains this text.
    #[arg(long)]
    only: Option<String>,
}

/// Agreement counts of one corpus file.
#[derive(Default)]
struct Tally {
    cases: usize,
    unsafe_cases: usize,
    same_verdict: usize,
    same_message: usize,
    /// Programs Axiom accepted and Linux refused.
    unsafe_accepts: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let dir = args.corpus.unwrap_or_else(|| repo_root().join("tests/verifier-corpus"));
    let live = axiom_tests::linux::available();
    if args.record {
        if let Err(why) = &live {
            eprintln!("axiom-parity: cannot record, host bpf() refused: {why}");
            return ExitCode::FAILURE;
        }
        let host = release();
        match recorded_release(&dir) {
            Some(r) if r != host && !args.refresh => {
                eprintln!(
                    "axiom-parity: the corpus was recorded on Linux {r}, this host runs {host}: \
                     add --refresh to re-ask this kernel for every case (and check Axiom \
                     against the changes)"
                );
                return ExitCode::FAILURE;
            }
            _ => {}
        }
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        for f in files {
            match record(&f, args.refresh) {
                Ok(names) => names.iter().for_each(|n| println!("recorded {n} (Linux {host})")),
                Err(e) => {
                    eprintln!("axiom-parity: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        if let Err(e) = write_recorded_release(&dir, &host) {
            eprintln!("axiom-parity: {e}");
            return ExitCode::FAILURE;
        }
    }
    let cases = match load(&dir) {
        Ok(c) => c
            .into_iter()
            .filter(|c| args.only.as_ref().is_none_or(|o| c.name.contains(o.as_str())))
            .collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("axiom-parity: {e}");
            return ExitCode::FAILURE;
        }
    };
    let recorded_on = recorded_release(&dir).unwrap_or_else(|| "an unrecorded release".into());
    match &live {
        Ok(()) => println!(
            "Linux: live, host kernel {} (the corpus was recorded on {recorded_on})",
            release()
        ),
        Err(why) => println!("Linux: the verdicts recorded on {recorded_on} only ({why})"),
    }
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut unsafe_accepts, mut drifted) = (0, 0);
    for case in &cases {
        let c = Compared::new(case, live.is_ok());
        let (ours, linux) = (&c.ours, c.linux());
        drifted += usize::from(c.oracle_drifted());
        let t = tallies.entry(file_of(case).to_string()).or_default();
        t.cases += 1;
        t.unsafe_cases += usize::from(!linux.accepted());
        t.same_verdict += usize::from(c.same_verdict());
        t.same_message += usize::from(ours == linux);
        // On a drifted case the oracle, not Axiom, moved: counted as drift.
        unsafe_accepts += usize::from(c.unsafe_accept() && !c.oracle_drifted());
        let mark = match (c.same_verdict(), ours == linux) {
            (_, true) => "same",
            (true, false) => "same verdict, other message",
            (false, _) => "DIFFERENT VERDICT",
        };
        if args.all || ours != linux || c.oracle_drifted() {
            println!("{}: {mark}", case.name);
            println!("    Axiom:    {ours}");
            println!("    Linux:    {linux}");
            match &c.live {
                Some(Ok(v)) if *v != c.recorded => {
                    println!("    recorded: {} (on {recorded_on}: oracle drift)", c.recorded)
                }
                Some(Err(e)) => println!("    Linux harness failed: {e}"),
                _ => {}
            }
        }
    }
    println!();
    println!("| corpus file | cases | unsafe | same verdict | same verdict and message |");
    println!("|---|---:|---:|---:|---:|");
    let mut total = Tally::default();
    for (file, t) in &tallies {
        println!(
            "| {file} | {} | {} | {} | {} |",
            t.cases, t.unsafe_cases, t.same_verdict, t.same_message
        );
        total.cases += t.cases;
        total.unsafe_cases += t.unsafe_cases;
        total.same_verdict += t.same_verdict;
        total.same_message += t.same_message;
    }
    println!(
        "| all | {} | {} | {} ({:.1}%) | {} ({:.1}%) |",
        total.cases,
        total.unsafe_cases,
        total.same_verdict,
        pct(total.same_verdict, total.cases),
        total.same_message,
        pct(total.same_message, total.cases)
    );
    let conf = conformance(live.is_ok());
    println!(
        "| conformance suite (live Linux) | {} | {} | {} ({:.1}%) | {} ({:.1}%) |",
        conf.cases,
        conf.unsafe_cases,
        conf.same_verdict,
        pct(conf.same_verdict, conf.cases),
        conf.same_message,
        pct(conf.same_message, conf.cases)
    );
    unsafe_accepts += conf.unsafe_accepts;
    println!("accepted by Axiom, refused by Linux: {unsafe_accepts}");
    if drifted > 0 {
        println!(
            "oracle drift: {drifted} cases whose verdict recorded on {recorded_on} Linux {} no \
             longer gives{}",
            release(),
            if args.strict { " (--strict: a failure)" } else { " (a failure with --strict)" }
        );
    }
    if unsafe_accepts > 0 || (args.strict && drifted > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The conformance programs, loaded as the Linux harness loads them (a
/// wrapper passes their memory as a map value), through both verifiers.
/// Without a live Linux the table row is empty.
fn conformance(live: bool) -> Tally {
    use axiom_abi::uapi::types::prog_type;
    use axiom_bpf::verify::KernelPlatform;
    use axiom_tests::conformance::{load_dir, parse};
    use axiom_tests::linux::{LinuxOutcome, run_case, wrap};
    use axiom_verifier::platform::MapInfo;
    use axiom_verifier::{Options, verify};
    let mut t = Tally::default();
    if !live {
        return t;
    }
    let array = |value_size: u32| MapInfo {
        map_type: 2,
        key_size: 4,
        value_size,
        max_entries: 1,
        read_only: false,
    };
    let files = load_dir(&axiom_tests::paths::conformance_dir()).unwrap_or_default();
    for (path, text) in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let Ok(case) = parse(&name, text) else { continue };
        let Ok(body) = case.program() else { continue };
        let (mem_fd, result_fd) = (100, 101);
        let mem = (!case.mem.is_empty()).then_some(mem_fd);
        let wrapped = wrap(mem, case.mem.len(), result_fd, &body);
        let platform = KernelPlatform {
            maps_by_fd: vec![(mem_fd, array(case.mem.len().max(1) as u32)), (result_fd, array(8))],
            maps_by_index: vec![],
            possible_cpus: None,
        };
        let ours =
            verify(&wrapped, prog_type::SOCKET_FILTER, &platform, &Options::default()).result;
        t.cases += 1;
        match (ours, run_case(&case)) {
            (Ok(_), LinuxOutcome::Ran { .. }) => {
                t.same_verdict += 1;
                t.same_message += 1;
            }
            (Err(e), LinuxOutcome::Refused(r)) => {
                t.unsafe_cases += 1;
                t.same_verdict += 1;
                t.same_message += usize::from(e.message == r.log && e.errno == r.errno.0);
            }
            (ours, theirs) => {
                let refused = matches!(theirs, LinuxOutcome::Refused(_));
                t.unsafe_cases += usize::from(refused);
                t.unsafe_accepts += usize::from(refused && ours.is_ok());
                println!("conformance {name}: Axiom {ours:?}, Linux {theirs:?}");
            }
        }
    }
    t
}

fn file_of(case: &Case) -> &str {
    case.name.split_once(':').map_or("", |(f, _)| f)
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 * 100.0 / d as f64 }
}
