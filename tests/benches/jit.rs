//! Benchmark of BPF execution engines, side by side in one run: Axiom's
//! x86-64 JIT and interpreter, rbpf's JIT and interpreter, and the host
//! Linux JIT through `BPF_PROG_TEST_RUN`. Prints tables (medians of
//! repeated batches) of run time per execution, JIT compile time per BPF
//! instruction and native code size. Run with `cargo bench -p axiom-tests
//! --bench jit`.
#![allow(missing_docs)]

use axiom_abi::Insn;
use axiom_abi::asm::assemble;
use axiom_jit::interp::{EnvError, HostEnv, Interpreter, Region, Stack};
use axiom_jit::x86_64::{JitOptions, compile};
use axiom_tests::conformance::{load_dir, parse};
use axiom_tests::jit::TestJitEnv;
use axiom_tests::linux::{self, HASH_MAP_PLACEHOLDER};
use axiom_tests::paths::conformance_dir;
use std::collections::HashMap;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

const BATCHES: usize = 11;

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median over batches of the mean time of one call, in nanoseconds.
fn time_ns(mut f: impl FnMut()) -> f64 {
    // Size batches to about 2 ms.
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_micros() < 2000 {
        f();
        n += 1;
    }
    let batch = n.max(1);
    median(
        (0..BATCHES)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..batch {
                    f();
                }
                t.elapsed().as_nanos() as f64 / batch as f64
            })
            .collect(),
    )
}

/// One benchmark program: text in the conformance syntax, input memory,
/// and whether it uses the map-lookup helper.
struct Bench {
    name: String,
    prog: Vec<Insn>,
    mem: Vec<u8>,
    uses_map: bool,
}

fn map_entries() -> Vec<(u32, u64)> {
    (0..64u32).map(|k| (k, k as u64 * 3 + 1)).collect()
}

/// The map of the Axiom and rbpf runs: a `HashMap` behind helper 1.
fn lookup_map() -> &'static HashMap<u32, u64> {
    static MAP: std::sync::OnceLock<HashMap<u32, u64>> = std::sync::OnceLock::new();
    MAP.get_or_init(|| map_entries().into_iter().collect())
}

/// Helper 1 for the JITs: `bpf_map_lookup_elem(map, &key)`.
extern "C" fn map_lookup_c(_map: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    // SAFETY: the benchmark program passes a pointer to a u32 on its stack.
    #[allow(unsafe_code)]
    let k = unsafe { *(key as *const u32) };
    lookup_map().get(&k).map_or(0, |v| v as *const u64 as u64)
}

fn map_lookup_rust(map: u64, key: u64, a: u64, b: u64, c: u64) -> u64 {
    map_lookup_c(map, key, a, b, c)
}

/// Where the interpreter's map values live.
const VALUES_BASE: u64 = 0x5000_0000;

fn map_lookup_interp(
    args: [u64; 5],
    regions: &mut [Region],
    stack: &mut Stack,
) -> Result<u64, EnvError> {
    let key = stack.get(args[1], 4).ok_or(EnvError::OutOfBounds)?;
    let k = u32::from_le_bytes(key.try_into().unwrap());
    let _ = regions;
    Ok(if lookup_map().contains_key(&k) { VALUES_BASE + k as u64 * 8 } else { 0 })
}

fn benches() -> Vec<Bench> {
    let mut out = Vec::new();
    // A packet parser with bounds checks over an Ethernet/IPv4/UDP frame.
    let mut pkt = vec![0u8; 64];
    pkt[12] = 0x08;
    pkt[14] = 0x45;
    pkt[23] = 17;
    pkt[36] = 0x1f;
    pkt[37] = 0x90;
    for (i, b) in pkt[42..58].iter_mut().enumerate() {
        *b = i as u8 * 7;
    }
    out.push(Bench {
        name: "packet parser".into(),
        prog: assemble(
            "jlt %r2, 58, drop\nldxh %r3, [%r1+12]\nbe16 %r3\njne %r3, 0x0800, drop\n\
             ldxb %r3, [%r1+14]\nand %r3, 0xf\nlsh %r3, 2\njlt %r3, 20, drop\n\
             ldxb %r4, [%r1+23]\njne %r4, 17, drop\nldxh %r0, [%r1+36]\nbe16 %r0\n\
             mov %r5, 0\nldxw %r3, [%r1+42]\nadd %r5, %r3\nldxw %r3, [%r1+46]\nadd %r5, %r3\n\
             ldxw %r3, [%r1+50]\nadd %r5, %r3\nldxw %r3, [%r1+54]\nadd %r5, %r3\nxor %r0, %r5\nexit\n\
             drop:\nmov %r0, 0\nexit",
        )
        .unwrap(),
        mem: pkt,
        uses_map: false,
    });
    out.push(Bench {
        name: "bounded loop (1000)".into(),
        prog: assemble(
            "mov %r0, 0\nmov %r3, 0\nloop:\nadd %r0, %r3\nxor %r0, 0x5a\nadd %r3, 1\njlt %r3, 1000, loop\nexit",
        )
        .unwrap(),
        mem: vec![],
        uses_map: false,
    });
    let mut text = String::from("mov %r0, 1\nmov %r3, 3\nmov %r4, 5\n");
    for i in 0..4092 {
        text += &match i % 6 {
            0 => format!("add %r0, {i}\n"),
            1 => "xor %r0, %r3\n".into(),
            2 => "mul %r3, 7\n".into(),
            3 => "add32 %r4, %r0\n".into(),
            4 => "rsh %r3, 1\n".into(),
            _ => "sub %r0, %r4\n".into(),
        };
    }
    text += "exit";
    out.push(Bench {
        name: "straight line (4096)".into(),
        prog: assemble(&text).unwrap(),
        mem: vec![],
        uses_map: false,
    });
    // The map-lookup loop: lddw with the placeholder map fd; each engine
    // gets its own map behind helper 1.
    let mut p = assemble(
        "mov %r6, 0\nmov %r7, 0\nloop:\nstxw [%r10-4], %r6\nlddw %r1, 0\nmov %r2, %r10\nadd %r2, -4\n\
         call 1\njeq %r0, 0, skip\nldxdw %r3, [%r0+0]\nadd %r7, %r3\nskip:\nadd %r6, 1\njlt %r6, 64, loop\n\
         mov %r0, %r7\nexit",
    )
    .unwrap();
    let at = p.iter().position(|i| i.code == 0x18).expect("the lddw");
    p[at] = Insn::new(0x18, 1, 1, 0, HASH_MAP_PLACEHOLDER);
    out.push(Bench { name: "map lookup loop (64)".into(), prog: p, mem: vec![], uses_map: true });
    out
}

/// The program with the map placeholder turned into a plain constant.
fn with_map_address(prog: &[Insn], addr: u64) -> Vec<Insn> {
    let mut p = prog.to_vec();
    for k in 0..p.len() {
        if p[k].code == 0x18 && p[k].src == 1 && p[k].imm == HASH_MAP_PLACEHOLDER {
            p[k] = Insn::new(0x18, p[k].dst, 0, 0, addr as u32 as i32);
            p[k + 1] = Insn::new(0, 0, 0, 0, (addr >> 32) as i32);
        }
    }
    p
}

fn bytes(p: &[Insn]) -> Vec<u8> {
    p.iter().flat_map(|i| i.to_bytes()).collect()
}

struct Row {
    name: String,
    insns: usize,
    axiom_jit: f64,
    axiom_interp: f64,
    rbpf_jit: Option<f64>,
    rbpf_interp: Option<f64>,
    linux: Option<f64>,
    axiom_compile: f64,
    rbpf_compile: Option<f64>,
    linux_load: Option<f64>,
    axiom_size: usize,
    axiom_wrapped_size: Option<usize>,
    linux_size: Option<u32>,
}

fn measure(b: &Bench, linux_ok: bool) -> Row {
    let map_addr = lookup_map() as *const _ as u64;
    let prog = with_map_address(&b.prog, map_addr);
    let mut env = TestJitEnv::new();
    env.lddw.push((HASH_MAP_PLACEHOLDER, map_addr));
    let jit_env = JitBenchEnv(env);
    let opts = JitOptions::default();
    let image = load_with(&prog, &jit_env, &opts);
    let mut mem = b.mem.clone();
    let addr = if mem.is_empty() { 0 } else { mem.as_mut_ptr() as u64 };
    let len = mem.len() as u64;
    // SAFETY: the benchmark programs touch only their stack, `mem` and map
    // values returned by the lookup helper, and end.
    #[allow(unsafe_code)]
    let jit_r0 = unsafe { image.run(addr, len) };
    #[allow(unsafe_code)]
    let axiom_jit = time_ns(|| {
        // SAFETY: as for the run above.
        black_box(unsafe { image.run(addr, len) });
    });

    // Interpreter.
    let mut ienv = HostEnv::default();
    let ibase = 0x1000_0000u64;
    ienv.add_region(ibase, b.mem.clone(), true);
    let values: Vec<u8> = (0..64u64).flat_map(|k| (k * 3 + 1).to_le_bytes()).collect();
    ienv.add_region(VALUES_BASE, values, false);
    ienv.helpers.insert(1, map_lookup_interp);
    ienv.helpers.insert(5, |_, _, _| Ok(0));
    let iprog: Rc<[Insn]> = prog.clone().into();
    let interp = Interpreter::default();
    let ilen = b.mem.len() as u64;
    let ir0 = interp.run(&mut ienv, iprog.clone(), &[ibase, ilen]).map(|o| o.r0);
    assert_eq!(ir0, Ok(jit_r0), "{}: interpreter and JIT disagree", b.name);
    let axiom_interp = time_ns(|| {
        black_box(interp.run(&mut ienv, iprog.clone(), &[ibase, ilen]).ok());
    });

    // rbpf (its verifier refuses what it does not support).
    let code = bytes(&prog);
    let (mut rbpf_jit, mut rbpf_interp, mut rbpf_compile) = (None, None, None);
    if let Ok(mut vm) = rbpf::EbpfVmRaw::new(Some(&code)) {
        let _ = vm.register_helper(1, map_lookup_rust);
        let mut m = b.mem.clone();
        if !b.uses_map {
            let r = vm.execute_program(&mut m);
            if r.as_ref().ok() != Some(&jit_r0) {
                println!(
                    "  {}: rbpf interpreter gives {r:?}, not {jit_r0:#x}: column left out",
                    b.name
                );
            } else {
                rbpf_interp = Some(time_ns(|| {
                    black_box(vm.execute_program(&mut m).ok());
                }));
            }
        }
        // rbpf's JIT panics when a program outgrows its fixed code buffer.
        let compiled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vm.jit_compile().is_ok()))
                .unwrap_or(false);
        if !compiled {
            println!("  {}: rbpf JIT cannot compile it: column left out", b.name);
        }
        if compiled {
            let mut m = b.mem.clone();
            // SAFETY: as above; rbpf's JIT runs the same program.
            #[allow(unsafe_code)]
            let r = unsafe { vm.execute_program_jit(&mut m) };
            if r.as_ref().ok() != Some(&jit_r0) {
                println!("  {}: rbpf JIT gives {r:?}, not {jit_r0:#x}: column left out", b.name);
            } else {
                #[allow(unsafe_code)]
                let t = time_ns(|| {
                    // SAFETY: as for the run above.
                    black_box(unsafe { vm.execute_program_jit(&mut m).ok() });
                });
                rbpf_jit = Some(t);
            }
            rbpf_compile = Some(time_ns(|| {
                let mut vm = rbpf::EbpfVmRaw::new(Some(&code)).unwrap();
                let _ = vm.register_helper(1, map_lookup_rust);
                black_box(vm.jit_compile().ok());
            }));
        }
    }

    let axiom_compile = time_ns(|| {
        black_box(compile(&prog, &jit_env, &opts).ok());
    });
    let axiom_size = compile(&prog, &jit_env, &opts).unwrap().code.len();

    let (mut linux_ns, mut linux_load, mut linux_size, mut wrapped_size) = (None, None, None, None);
    if linux_ok {
        let entries = map_entries();
        match linux::load_program(&b.prog, &b.mem, b.uses_map.then_some(&entries[..])) {
            Ok(lp) => {
                let _ = lp.run(1);
                assert_eq!(lp.r0().ok(), Some(jit_r0), "{}: Linux disagrees", b.name);
                linux_ns =
                    Some(median((0..BATCHES).map(|_| lp.run(1000).unwrap_or(0) as f64).collect()));
                linux_size = lp.jited_len().ok();
                linux_load = Some(median(
                    (0..BATCHES)
                        .filter_map(|_| {
                            linux::load_program(&b.prog, &b.mem, b.uses_map.then_some(&entries[..]))
                                .ok()
                        })
                        .map(|p| p.load_time.as_nanos() as f64)
                        .collect(),
                ));
                // The same wrapped program through Axiom's JIT, for sizes.
                let mut wenv = TestJitEnv::new();
                wenv.lddw.push((HASH_MAP_PLACEHOLDER, map_addr));
                let wrapped = with_fds_resolved(&lp.wrapped);
                wrapped_size =
                    compile(&wrapped, &JitBenchEnv(wenv), &opts).ok().map(|i| i.code.len());
            }
            Err(e) => println!("  {}: Linux: {e}", b.name),
        }
    }
    Row {
        name: b.name.clone(),
        insns: prog.len(),
        axiom_jit,
        axiom_interp,
        rbpf_jit,
        rbpf_interp,
        linux: linux_ns,
        axiom_compile,
        rbpf_compile,
        linux_load,
        axiom_size,
        axiom_wrapped_size: wrapped_size,
        linux_size,
    }
}

/// The Linux wrapper refers to maps by fd; for Axiom's JIT make every
/// pseudo `lddw` a constant so the same instructions compile.
fn with_fds_resolved(p: &[Insn]) -> Vec<Insn> {
    let mut p = p.to_vec();
    for i in p.iter_mut() {
        if i.code == 0x18 && i.src != 0 {
            i.src = 0;
            i.imm = 0x1000;
        }
    }
    p
}

/// The test JIT environment plus the map-lookup helper.
struct JitBenchEnv(TestJitEnv);

impl axiom_jit::x86_64::JitEnv for JitBenchEnv {
    fn helper_address(&self, id: i32) -> Option<u64> {
        match id {
            1 => Some(map_lookup_c as *const () as u64),
            _ => self.0.helper_address(id),
        }
    }
    fn resolve_lddw(
        &self,
        kind: axiom_abi::instruction::Pseudo,
        imm: i32,
        next: i32,
    ) -> Option<u64> {
        self.0.resolve_lddw(kind, imm, next)
    }
}

fn load_with(prog: &[Insn], env: &JitBenchEnv, opts: &JitOptions) -> axiom_bpf::host::ExecImage {
    let image = compile(prog, env, opts).expect("compiles");
    match axiom_bpf::host::ExecImage::new(image) {
        Ok(i) => i,
        Err(_) => {
            let far = JitOptions { far_helper_calls: true, ..*opts };
            axiom_bpf::host::ExecImage::new(compile(prog, env, &far).unwrap()).expect("maps")
        }
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.1}"))
}

fn main() {
    let linux_ok = match linux::available() {
        Ok(()) => true,
        Err(why) => {
            println!("host Linux column skipped: {why}");
            false
        }
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "# BPF execution engines (host process, no virtualization layer: neither KVM nor TCG)"
    );
    println!(
        "host Linux {} (JIT), rbpf 0.4 from crates.io; medians of {BATCHES} batches\n",
        release.trim()
    );

    let mut rows: Vec<Row> = benches().iter().map(|b| measure(b, linux_ok)).collect();

    // The conformance programs: medians over the programs every engine runs.
    let files = load_dir(&conformance_dir()).expect("conformance suite");
    let mut conf: Vec<Row> = Vec::new();
    for (path, text) in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let case = parse(&name, text).unwrap();
        let Ok(prog) = case.program() else { continue };
        if case.result.is_none() {
            continue;
        }
        let b = Bench { name, prog, mem: case.mem.clone(), uses_map: false };
        if compile(&b.prog, &JitBenchEnv(TestJitEnv::new()), &JitOptions::default()).is_err() {
            continue;
        }
        conf.push(measure(&b, linux_ok));
    }
    let n = conf.len();
    let med = |f: &dyn Fn(&Row) -> Option<f64>| median(conf.iter().filter_map(f).collect());
    rows.push(Row {
        name: format!("conformance ({n} programs, median)"),
        insns: median(conf.iter().map(|r| r.insns as f64).collect()) as usize,
        axiom_jit: med(&|r| Some(r.axiom_jit)),
        axiom_interp: med(&|r| Some(r.axiom_interp)),
        rbpf_jit: Some(med(&|r| r.rbpf_jit)),
        rbpf_interp: Some(med(&|r| r.rbpf_interp)),
        linux: linux_ok.then(|| med(&|r| r.linux)),
        axiom_compile: med(&|r| Some(r.axiom_compile)),
        rbpf_compile: Some(med(&|r| r.rbpf_compile)),
        linux_load: linux_ok.then(|| med(&|r| r.linux_load)),
        axiom_size: med(&|r| Some(r.axiom_size as f64)) as usize,
        axiom_wrapped_size: linux_ok
            .then(|| med(&|r| r.axiom_wrapped_size.map(|v| v as f64)) as usize),
        linux_size: linux_ok.then(|| med(&|r| r.linux_size.map(|v| v as f64)) as u32),
    });
    let larger: Vec<&Row> = conf
        .iter()
        .filter(|r| matches!((r.axiom_wrapped_size, r.linux_size), (Some(a), Some(l)) if a > l as usize))
        .collect();

    println!("## Run time per execution (ns)\n");
    println!(
        "| program | insns | Axiom JIT | Axiom interp | rbpf JIT | rbpf interp | Linux JIT | Axiom JIT / Linux | Axiom JIT / rbpf JIT |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.1} | {:.1} | {} | {} | {} | {} | {} |",
            r.name,
            r.insns,
            r.axiom_jit,
            r.axiom_interp,
            opt(r.rbpf_jit),
            opt(r.rbpf_interp),
            opt(r.linux),
            r.linux.map_or("n/a".into(), |l| format!("{:.2}", r.axiom_jit / l)),
            r.rbpf_jit.map_or("n/a".into(), |l| format!("{:.2}", r.axiom_jit / l)),
        );
    }
    println!(
        "\nLinux's figure is BPF_PROG_TEST_RUN's mean over 1000 repeats: it includes the test-run loop and"
    );
    println!(
        "the wrapper (5 instructions and a bpf-to-bpf call) that gives the program its memory and keeps r0."
    );
    println!(
        "Axiom's and rbpf's figures are one call from Rust into the program, including the call itself.\n"
    );

    println!("## JIT compile time and code size\n");
    println!(
        "| program | insns | Axiom JIT ns/insn | rbpf JIT ns/insn | Linux load (verify+JIT) ns/insn | Axiom bytes | Axiom bytes/insn | Axiom bytes (wrapped) | Linux jited bytes (wrapped) | size ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let per = |v: f64| v / r.insns as f64;
        println!(
            "| {} | {} | {:.1} | {} | {} | {} | {:.2} | {} | {} | {} |",
            r.name,
            r.insns,
            per(r.axiom_compile),
            r.rbpf_compile.map_or("n/a".into(), |v| format!("{:.1}", per(v))),
            r.linux_load.map_or("n/a".into(), |v| format!("{:.1}", per(v))),
            r.axiom_size,
            r.axiom_size as f64 / r.insns as f64,
            r.axiom_wrapped_size.map_or("n/a".into(), |v| v.to_string()),
            r.linux_size.map_or("n/a".into(), |v| v.to_string()),
            match (r.axiom_wrapped_size, r.linux_size) {
                (Some(a), Some(l)) => format!("{:.2}", a as f64 / l as f64),
                _ => "n/a".into(),
            },
        );
    }
    arm64_table(&files);
    println!("\nconformance programs where Axiom's code is larger than Linux's: {}", larger.len());
    for r in larger {
        println!(
            "  {}: Axiom {} bytes, Linux {} bytes",
            r.name,
            r.axiom_wrapped_size.unwrap(),
            r.linux_size.unwrap()
        );
    }
}

/// The arm64 backend next to the x86-64 one on the same programs: compile
/// time per BPF instruction (on this host) and native bytes per BPF
/// instruction.
fn arm64_table(files: &[(std::path::PathBuf, String)]) {
    let env = JitBenchEnv(TestJitEnv::new());
    let opts = JitOptions::default();
    // The map of the lookup loop is any address here: only compiled.
    let mut programs: Vec<(String, Vec<Insn>)> = benches()
        .into_iter()
        .map(|b| {
            let prog = if b.uses_map { with_map_address(&b.prog, 0x1000) } else { b.prog };
            (b.name, prog)
        })
        .collect();
    let mut conf = Vec::new();
    for (path, text) in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Ok(prog) = parse(&name, text).unwrap().program() {
            conf.push(prog);
        }
    }
    let measure = |prog: &[Insn]| {
        let x86 = time_ns(|| {
            black_box(compile(prog, &env, &opts).ok());
        });
        let arm = time_ns(|| {
            black_box(axiom_jit::aarch64::compile(prog, &env, &opts).ok());
        });
        let x86_len = compile(prog, &env, &opts).map_or(0, |i| i.code.len());
        let arm_len = axiom_jit::aarch64::compile(prog, &env, &opts).map_or(0, |i| i.code.len());
        (x86, arm, x86_len, arm_len)
    };
    println!("\n## arm64 JIT next to x86-64 (compiled on this host)\n");
    println!(
        "| program | insns | x86-64 ns/insn | arm64 ns/insn | x86-64 bytes/insn | arm64 bytes/insn |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, prog) in programs.drain(..) {
        let (x86, arm, xl, al) = measure(&prog);
        let n = prog.len() as f64;
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.2} | {:.2} |",
            prog.len(),
            x86 / n,
            arm / n,
            xl as f64 / n,
            al as f64 / n
        );
    }
    let rows: Vec<(f64, f64, f64, f64)> = conf
        .iter()
        .map(|p| {
            let (x86, arm, xl, al) = measure(p);
            let n = p.len() as f64;
            (x86 / n, arm / n, xl as f64 / n, al as f64 / n)
        })
        .collect();
    let med = |f: fn(&(f64, f64, f64, f64)) -> f64| median(rows.iter().map(f).collect());
    println!(
        "| conformance ({} programs, median) | {} | {:.1} | {:.1} | {:.2} | {:.2} |",
        rows.len(),
        median(conf.iter().map(|p| p.len() as f64).collect()),
        med(|r| r.0),
        med(|r| r.1),
        med(|r| r.2),
        med(|r| r.3)
    );
}
