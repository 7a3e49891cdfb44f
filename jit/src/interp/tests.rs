//! Interpreter behaviour that the conformance suite does not reach: faults,
//! budgets, call frames, tail calls, helpers and pseudo `lddw`.

use super::*;
use alloc::rc::Rc;
use axiom_abi::asm::assemble;
use axiom_abi::uapi::limits::MAX_TAIL_CALL_CNT;

fn prog(text: &str) -> Rc<[Insn]> {
    assemble(text).unwrap().into()
}

fn run(text: &str, env: &mut HostEnv) -> Result<Outcome, Fault> {
    Interpreter::default().run(env, prog(text), &[])
}

#[test]
fn out_of_bounds_access_faults_instead_of_reading() {
    let mut env = HostEnv::default();
    let e = run("mov %r1, 0x1000\nldxdw %r0, [%r1+0]\nexit", &mut env).unwrap_err();
    assert_eq!(e, Fault::OutOfBounds { pc: 1, addr: 0x1000, len: 8, write: false });
    // One byte past the stack top.
    let e = run("stb [%r10+0], 1\nexit", &mut env).unwrap_err();
    assert!(matches!(e, Fault::OutOfBounds { write: true, .. }));
    // Read-only regions refuse writes.
    env.add_region(0x2000, alloc::vec![0; 8], false);
    let e = run("mov %r1, 0x2000\nstb [%r1+0], 1\nexit", &mut env).unwrap_err();
    assert!(matches!(e, Fault::OutOfBounds { write: true, .. }));
}

#[test]
fn region_writes_are_visible_afterwards() {
    let mut env = HostEnv::default();
    env.add_region(0x2000, alloc::vec![0; 8], true);
    run("mov %r1, 0x2000\nmov %r2, 7\nlock add [%r1+0], %r2\nsth [%r1+4], 0x1234\nexit", &mut env)
        .unwrap();
    assert_eq!(env.regions[0].data, [7, 0, 0, 0, 0x34, 0x12, 0, 0]);
}

#[test]
fn the_budget_stops_infinite_loops() {
    let mut env = HostEnv::default();
    let e = Interpreter { budget: 1000 }.run(&mut env, prog("ja -1\nexit"), &[]).unwrap_err();
    assert_eq!(e, Fault::BudgetExhausted { executed: 1000 });
}

#[test]
fn jumps_out_of_the_program_fault() {
    let mut env = HostEnv::default();
    assert_eq!(run("ja +5\nexit", &mut env).unwrap_err(), Fault::PcOutOfRange { pc: 6 });
    assert_eq!(run("mov %r0, 0", &mut env).unwrap_err(), Fault::PcOutOfRange { pc: 1 });
    // Into the second slot of lddw: slot 2 of this program decodes as opcode 0.
    let e = run("ja +1\nlddw %r0, 5\nexit", &mut env).unwrap_err();
    assert!(matches!(e, Fault::Decode(_)));
}

#[test]
fn the_frame_pointer_is_read_only() {
    let mut env = HostEnv::default();
    assert_eq!(run("mov %r10, 0\nexit", &mut env).unwrap_err(), Fault::FramePointerWrite { pc: 0 });
}

#[test]
fn calls_nest_up_to_eight_frames() {
    // Each function calls the next; depth `n` frames in all.
    let chain = |n: usize| {
        let mut s = alloc::string::String::new();
        for i in 0..n {
            s += &alloc::format!("f{i}:\n");
            if i + 1 < n {
                s += &alloc::format!("call local f{}\n", i + 1);
            }
            s += "add %r0, 1\nexit\n";
        }
        s
    };
    let mut env = HostEnv::default();
    assert_eq!(run(&chain(MAX_CALL_FRAMES), &mut env).unwrap().r0, MAX_CALL_FRAMES as u64);
    assert_eq!(
        run(&chain(MAX_CALL_FRAMES + 1), &mut env).unwrap_err(),
        Fault::CallDepth { pc: 21 }
    );
}

#[test]
fn each_frame_has_its_own_stack() {
    let text =
        "stdw [%r10-8], 1\ncall local f\nldxdw %r0, [%r10-8]\nexit\nf:\nstdw [%r10-8], 2\nexit";
    let mut env = HostEnv::default();
    assert_eq!(run(text, &mut env).unwrap().r0, 1);
}

fn counting_helper(args: [u64; 5], _: &mut [Region], _: &mut Stack) -> Result<u64, EnvError> {
    Ok(args[0] + args[1])
}

fn stack_reading_helper(
    args: [u64; 5],
    _: &mut [Region],
    stack: &mut Stack,
) -> Result<u64, EnvError> {
    let bytes = stack.get(args[0], 8).ok_or(EnvError::OutOfBounds)?;
    Ok(u64::from_le_bytes(bytes.try_into().unwrap()))
}

#[test]
fn helpers_get_arguments_and_clobber_r1_to_r5() {
    let mut env = HostEnv::default();
    env.helpers.insert(1, counting_helper);
    env.helpers.insert(2, stack_reading_helper);
    assert_eq!(
        run("mov %r1, 2\nmov %r2, 40\ncall 1\nadd %r0, %r1\nexit", &mut env).unwrap().r0,
        42
    );
    let text = "stdw [%r10-8], 99\nmov %r1, %r10\nadd %r1, -8\ncall 2\nexit";
    assert_eq!(run(text, &mut env).unwrap().r0, 99);
    let e = run("call 77\nexit", &mut env).unwrap_err();
    assert_eq!(e, Fault::UnknownHelper { pc: 0, id: 77 });
}

#[test]
fn tail_calls_replace_the_program_and_stop_at_33() {
    // Program 0 counts in the region and tail-calls itself forever; after
    // 33 tail calls the call falls through and it exits.
    let looping = prog(
        "mov %r6, %r1\nldxdw %r0, [%r6+0]\nadd %r0, 1\nstxdw [%r6+0], %r0\n\
         lddw %r2, 0x5000\nmov %r3, 0\nmov %r1, %r6\ncall 12\nmov %r0, 100\nexit",
    );
    let mut env = HostEnv::default();
    env.add_region(0x9000, alloc::vec![0; 8], true);
    env.prog_arrays.insert(0x5000, alloc::vec![Some(looping.clone())]);
    let out = Interpreter::default().run(&mut env, looping, &[0x9000]).unwrap();
    assert_eq!(out.r0, 100);
    assert_eq!(out.tail_calls, MAX_TAIL_CALL_CNT);
    assert_eq!(env.regions[0].data[0] as u32, MAX_TAIL_CALL_CNT + 1);
    // An index past the end falls through with r0 untouched, uncounted;
    // an empty slot falls through but counts, as in Linux.
    let mut env = HostEnv::default();
    env.prog_arrays.insert(0x5000, alloc::vec![None, None]);
    let out = run("mov %r0, 7\nlddw %r2, 0x5000\nmov %r3, 3\ncall 12\nexit", &mut env).unwrap();
    assert_eq!((out.r0, out.tail_calls), (7, 0));
    let out = run("mov %r0, 7\nlddw %r2, 0x5000\nmov %r3, 1\ncall 12\nexit", &mut env).unwrap();
    assert_eq!((out.r0, out.tail_calls), (7, 1));
}

#[test]
fn pseudo_lddw_needs_the_environment() {
    let slots: Rc<[Insn]> = alloc::vec![
        axiom_abi::Insn::new(0x18, 1, 1, 0, 3),
        axiom_abi::Insn::new(0, 0, 0, 0, 0),
        axiom_abi::Insn::new(0x95, 0, 0, 0, 0),
    ]
    .into();
    let mut env = HostEnv::default();
    let e = Interpreter::default().run(&mut env, slots, &[]).unwrap_err();
    assert_eq!(e, Fault::Unresolved { pc: 0, kind: axiom_abi::instruction::Pseudo::MapFd });
}

#[test]
fn legacy_packet_loads_need_a_packet() {
    let mut env = HostEnv::default();
    let e = run("ldabsh 12\nexit", &mut env).unwrap_err();
    assert_eq!(e, Fault::NoPacket { pc: 0 });
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn cases() -> u32 {
        if std::env::var_os("AXIOM_LONG_TESTS").is_some() { 200_000 } else { 5_000 }
    }

    /// A slot drawn mostly from valid opcodes with small offsets, so that
    /// programs run for a while instead of failing at the first slot.
    fn slot() -> impl Strategy<Value = Insn> {
        let codes = prop_oneof![
            4 => any::<u8>(),
            6 => prop::sample::select(vec![
                0x07u8, 0x0f, 0x04, 0x0c, 0xb7, 0xbf, 0xb4, 0xbc, 0x37, 0x3f, 0x97, 0x9f, 0x67, 0x77,
                0xc7, 0x87, 0xd4, 0xdc, 0xd7, 0x05, 0x06, 0x15, 0x1d, 0x16, 0x55, 0xa5, 0xbd, 0x85,
                0x95, 0x18, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63,
                0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x20, 0x28, 0x30, 0x40,
            ]),
        ];
        (codes, 0u8..11, 0u8..11, -4i16..4, prop_oneof![-8i32..64, any::<i32>()])
            .prop_map(|(c, d, s, o, i)| Insn::new(c, d, s, o, i))
    }

    fn helper(args: [u64; 5], _: &mut [Region], _: &mut Stack) -> Result<u64, EnvError> {
        Ok(args[0] ^ args[1])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// Arbitrary programs never panic the interpreter: they end with a
        /// result or a fault, within the budget.
        #[test]
        fn random_programs_end_in_result_or_fault(slots in proptest::collection::vec(slot(), 1..40)) {
            let mut env = HostEnv::default();
            env.add_region(0x1000, alloc::vec![0xaa; 64], true);
            env.helpers.insert(1, helper);
            let prog: Rc<[Insn]> = slots.into();
            let out = Interpreter { budget: 10_000 }.run(&mut env, prog, &[0x1000, 64]);
            if let Err(Fault::BudgetExhausted { executed }) = out {
                prop_assert_eq!(executed, 10_000);
            }
        }
    }
}
