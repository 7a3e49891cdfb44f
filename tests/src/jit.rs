//! Running programs through Axiom's x86-64 JIT in this process, with the
//! same inputs as the interpreter, for differential tests and benchmarks.

use crate::conformance::TestCase;
use axiom_abi::Insn;
use axiom_abi::instruction::Pseudo;
use axiom_bpf::host::{ExecError, ExecImage};
use axiom_jit::x86_64::{JitEnv, JitError, JitOptions, compile};

/// Helper 1 of the test environment: `r1 ^ r2`, as the interpreter's.
pub extern "C" fn helper_xor(a: u64, b: u64, _: u64, _: u64, _: u64) -> u64 {
    a ^ b
}

/// Helper 5 of the conformance environment: returns 0, as the
/// interpreter's.
pub extern "C" fn helper_zero(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

/// Helper table for `callx`, indexed by id.
static HELPER_TABLE: [u64; 6] = [0; 6];

/// The JIT environment of the tests: helpers 1 and 5, `lddw` map values
/// resolved from a fixed table.
#[derive(Default)]
pub struct TestJitEnv {
    /// Values for `lddw` pseudo forms, by `imm`.
    pub lddw: Vec<(i32, u64)>,
    table: Vec<u64>,
}

impl TestJitEnv {
    /// The environment with the helper table filled in.
    pub fn new() -> Self {
        let mut table = HELPER_TABLE.to_vec();
        table[1] = helper_xor as *const () as u64;
        table[5] = helper_zero as *const () as u64;
        Self { lddw: Vec::new(), table }
    }
}

impl JitEnv for TestJitEnv {
    fn helper_address(&self, id: i32) -> Option<u64> {
        match id {
            1 => Some(helper_xor as *const () as u64),
            5 => Some(helper_zero as *const () as u64),
            _ => None,
        }
    }

    fn resolve_lddw(&self, _kind: Pseudo, imm: i32, _next: i32) -> Option<u64> {
        self.lddw.iter().find(|(k, _)| *k == imm).map(|(_, v)| *v)
    }

    fn helper_table(&self) -> Option<(u64, u32)> {
        Some((self.table.as_ptr() as u64, self.table.len() as u32))
    }
}

/// Why a JIT run failed.
#[derive(Debug)]
pub enum JitRunError {
    /// Compilation failed.
    Compile(JitError),
    /// Placing the image failed.
    Exec(ExecError),
}

impl std::fmt::Display for JitRunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JitRunError::Compile(e) => write!(f, "JIT: {e}"),
            JitRunError::Exec(e) => write!(f, "exec: {e}"),
        }
    }
}

/// Compiles and maps a program; falls back to far helper calls if the
/// mapping landed out of `call rel32` reach.
pub fn load(slots: &[Insn], env: &TestJitEnv, opts: &JitOptions) -> Result<ExecImage, JitRunError> {
    let image = compile(slots, env, opts).map_err(JitRunError::Compile)?;
    match ExecImage::new(image) {
        Err(ExecError::Link(JitError::HelperOutOfReach { .. })) => {
            let far = JitOptions { far_helper_calls: true, ..*opts };
            let image = compile(slots, env, &far).map_err(JitRunError::Compile)?;
            ExecImage::new(image).map_err(JitRunError::Exec)
        }
        r => r.map_err(JitRunError::Exec),
    }
}

/// Compiles a program with the arm64 backend and maps it (on an arm64
/// host; under `qemu-aarch64` in CI).
pub fn load_aarch64(
    slots: &[Insn],
    env: &TestJitEnv,
    opts: &JitOptions,
) -> Result<ExecImage, JitRunError> {
    let image = axiom_jit::aarch64::compile(slots, env, opts).map_err(JitRunError::Compile)?;
    ExecImage::new(image).map_err(JitRunError::Exec)
}

/// Runs a conformance case through the JIT; returns `r0` and the input
/// memory afterwards.
pub fn run_case(case: &TestCase, opts: &JitOptions) -> Result<(u64, Vec<u8>), String> {
    let prog = case.program().map_err(|e| e.to_string())?;
    let image = load(&prog, &TestJitEnv::new(), opts).map_err(|e| e.to_string())?;
    let mut mem = case.mem.clone();
    let r1 = if mem.is_empty() { 0 } else { mem.as_mut_ptr() as u64 };
    // SAFETY: conformance programs only touch their stack and the memory
    // given to them (Linux's verifier accepts 300 of them; the other 13
    // are shifts and callx), and all of them end.
    #[allow(unsafe_code)]
    let r0 = unsafe { image.run(r1, mem.len() as u64) };
    Ok((r0, mem))
}

/// A loader of programs into executable images (one per backend).
pub type Loader = fn(&[Insn], &TestJitEnv, &JitOptions) -> Result<ExecImage, JitRunError>;

/// A program array as [`JitOptions::default`]'s `TailCallAbi` lays it out:
/// `max_entries` at 0, entries (tail-call entry addresses) from 8.
fn prog_array(entries: &[u64]) -> Vec<u64> {
    let mut a = vec![entries.len() as u64];
    a.extend_from_slice(entries);
    a
}

/// Tail calls through a program array: a program that tail-calls itself
/// stops after 33, calls from a subprogram return to its caller, empty
/// slots fall through; the result equals the interpreter's.
pub fn check_tail_call_chain(load: Loader) {
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

/// A tail call made in a subprogram replaces it, and returns to its
/// caller.
pub fn check_tail_call_from_subprogram(load: Loader) {
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

/// A program that counts its runs in map 0's value (`[count, limit]`, two
/// `u64`) and tail-calls itself (map 1, slot 0) while the count is at most
/// the limit: it returns 1 when it stops by itself, 2 when a tail call
/// fell through. With limit 33 it makes 33 tail calls, all taken (34 runs,
/// `r0` 1); with limit 34 the 34th tail call is one past Linux's
/// `MAX_TAIL_CALL_CNT` and falls through (34 runs, `r0` 2).
pub const TAIL_CALL_LOOP: &str = "mov %r6, %r1\nlddw %r7, mapvalue:0+0\nldxdw %r0, [%r7+0]\n\
     add %r0, 1\nstxdw [%r7+0], %r0\nldxdw %r1, [%r7+8]\njgt %r0, %r1, done\nmov %r1, %r6\n\
     lddw %r2, map:1\nmov %r3, 0\ncall 12\nmov %r0, 2\nexit\ndone:\nmov %r0, 1\nexit";

/// [`TAIL_CALL_LOOP`] at and past the tail-call limit: `(runs, r0)` for
/// limits 32, 33 and 34 on a backend and on the interpreter.
pub fn check_tail_call_limit(load: Loader) {
    use axiom_abi::asm::assemble;
    use axiom_jit::interp::{HostEnv, Interpreter};
    use std::rc::Rc;

    let prog = assemble(TAIL_CALL_LOOP).unwrap();
    for (limit, want) in [(32u64, (33u64, 1u64)), (33, (34, 1)), (34, (34, 2))] {
        let mut mem = [0u64, limit];
        let mem_addr = mem.as_mut_ptr() as u64;
        let mut array = prog_array(&[0]);
        let array_addr = array.as_mut_ptr() as u64;
        let mut env = TestJitEnv::new();
        env.lddw = vec![(0, mem_addr), (1, array_addr)];
        let image = load(&prog, &env, &JitOptions::default()).unwrap();
        array[1] = image.tail_call_entry();
        // SAFETY: the program touches only `mem` (its map value) and its
        // stack; its tail calls jump to its own image, alive for the run.
        #[allow(unsafe_code)]
        let r0 = unsafe { image.run(0, 0) };
        assert_eq!((mem[0], r0), want, "JIT, limit {limit}: (runs, r0)");

        let mut ienv = HostEnv::default();
        ienv.add_region(0x9000, [0u64.to_le_bytes(), limit.to_le_bytes()].concat(), true);
        ienv.pseudo_values.insert((Pseudo::MapValue as u8, 0), 0x9000);
        ienv.pseudo_values.insert((Pseudo::MapFd as u8, 1), 0x5000);
        let p: Rc<[Insn]> = prog.clone().into();
        ienv.prog_arrays.insert(0x5000, vec![Some(p.clone())]);
        let out = Interpreter::default().run(&mut ienv, p, &[0]).unwrap();
        let runs = u64::from_le_bytes(ienv.regions[0].data[..8].try_into().unwrap());
        assert_eq!((runs, out.r0), want, "interpreter, limit {limit}: (runs, r0)");
        // Every run but the first came by a taken tail call.
        assert_eq!(u64::from(out.tail_calls), want.0 - 1);
    }
}
