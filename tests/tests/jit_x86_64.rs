//! Axiom's x86-64 JIT against the reference interpreter: every conformance
//! program gives the expected `r0` and the same memory, with and without
//! constant blinding; the image is mapped read+execute, not writable.

use axiom_jit::x86_64::JitOptions;
use axiom_tests::conformance::{load_dir, parse, run_interpreter_with_memory};
use axiom_tests::jit::{TestJitEnv, load, run_case};
use axiom_tests::paths::conformance_dir;

fn conformance(opts: &JitOptions) {
    let files = load_dir(&conformance_dir()).expect("conformance suite");
    assert_eq!(files.len(), 313);
    let mut failures = Vec::new();
    for (path, text) in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let case = parse(&name, text).unwrap();
        let expected = case.result.unwrap();
        let (interp_r0, interp_mem) = run_interpreter_with_memory(&case).unwrap();
        match run_case(&case, opts) {
            Ok((r0, mem)) => {
                if r0 != expected || r0 != interp_r0 {
                    failures.push(format!(
                        "{name}: JIT {r0:#x}, interpreter {interp_r0:#x}, expected {expected:#x}"
                    ));
                } else if mem != interp_mem {
                    failures.push(format!("{name}: memory differs"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!(
        "jit conformance (blinding {}): {} passed, {} failed",
        opts.blinding,
        files.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_conformance_program_matches_the_interpreter() {
    conformance(&JitOptions::default());
}

#[test]
fn every_conformance_program_matches_with_blinding() {
    conformance(&JitOptions::hardened());
}

#[test]
fn images_are_mapped_read_execute_only() {
    let prog = axiom_abi::asm::assemble("mov %r0, 1\nexit").unwrap();
    let image = load(&prog, &TestJitEnv::new(), &JitOptions::default()).unwrap();
    assert_eq!(image.protection().as_deref(), Some("r-xp"));
}

/// A program array as [`JitOptions::default`]'s `TailCallAbi` lays it out:
/// `max_entries` at 0, entries (tail-call entry addresses) from 8.
fn prog_array(entries: &[u64]) -> Vec<u64> {
    let mut a = vec![entries.len() as u64];
    a.extend_from_slice(entries);
    a
}

#[test]
fn tail_calls_chain_count_and_stop_at_33() {
    use axiom_abi::asm::assemble;
    use axiom_jit::interp::{HostEnv, Interpreter};
    use std::rc::Rc;

    let mut array = prog_array(&[0, 0, 0]);
    let array_addr = array.as_mut_ptr() as u64;
    // Slot 0: counts in ctx[0] and tail-calls itself; after 33 the call
    // falls through. Slot 1: returns ctx[0] + 1000 (called from a subprog).
    // Slot 2 stays empty.
    let looping = assemble(&format!(
        "mov %r6, %r1\nldxdw %r0, [%r6+0]\nadd %r0, 1\nstxdw [%r6+0], %r0\n\
         lddw %r2, {array_addr:#x}\nmov %r3, 0\nmov %r1, %r6\ncall 12\n\
         mov %r1, %r6\ncall local sub\nadd %r0, 7\nexit\n\
         sub:\nmov %r6, %r1\nlddw %r2, {array_addr:#x}\nmov %r3, 2\ncall 12\n\
         mov %r1, %r6\nlddw %r2, {array_addr:#x}\nmov %r3, 1\ncall 12\nmov %r0, 55\nexit"
    ))
    .unwrap();
    let target = assemble("ldxdw %r0, [%r1+0]\nadd %r0, 1000\nexit").unwrap();
    let env = TestJitEnv::new();
    let img_loop = load(&looping, &env, &JitOptions::default()).unwrap();
    let img_target = load(&target, &env, &JitOptions::default()).unwrap();
    array[1] = img_loop.tail_call_entry();
    array[2] = img_target.tail_call_entry();

    let mut ctx = [0u64; 1];
    let ctx_addr = ctx.as_mut_ptr() as u64;
    // SAFETY: the programs touch only ctx and their stacks; tail calls
    // jump to the images mapped above, which outlive the run.
    #[allow(unsafe_code)]
    let r0 = unsafe { img_loop.run(ctx_addr, 0) };

    let mut ienv = HostEnv::default();
    ienv.add_region(ctx_addr, vec![0; 8], true);
    let (l, t): (Rc<[axiom_abi::Insn]>, Rc<[axiom_abi::Insn]>) = (looping.into(), target.into());
    ienv.prog_arrays.insert(array_addr, vec![Some(l.clone()), Some(t), None]);
    let out = Interpreter::default().run(&mut ienv, l, &[ctx_addr]).unwrap();
    // 34 runs of the counting part, then the subprog's tail calls are over
    // the limit too and fall through: 55 + 7.
    assert_eq!(ctx[0], 34);
    assert_eq!(u64::from_le_bytes(ienv.regions[0].data[..8].try_into().unwrap()), 34);
    assert_eq!((r0, out.r0), (62, 62));
}

#[test]
fn tail_call_from_a_subprogram_returns_to_its_caller() {
    use axiom_abi::asm::assemble;
    let mut array = prog_array(&[0]);
    let array_addr = array.as_mut_ptr() as u64;
    let main = assemble(&format!(
        "mov %r6, %r1\ncall local sub\nadd %r0, 7\nexit\n\
         sub:\nlddw %r2, {array_addr:#x}\nmov %r3, 0\ncall 12\nmov %r0, 55\nexit"
    ))
    .unwrap();
    let target = assemble("mov %r0, 1000\nexit").unwrap();
    let env = TestJitEnv::new();
    let img_main = load(&main, &env, &JitOptions::default()).unwrap();
    let img_target = load(&target, &env, &JitOptions::default()).unwrap();
    array[1] = img_target.tail_call_entry();
    // SAFETY: no memory is touched but the stacks; the target outlives the run.
    #[allow(unsafe_code)]
    let r0 = unsafe { img_main.run(0, 0) };
    assert_eq!(r0, 1007);
}
