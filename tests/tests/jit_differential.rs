//! Random valid programs on the x86-64 JIT and the reference interpreter:
//! identical `r0` and identical memory effects. 20,000 programs by default
//! (half of them with constant blinding); `AXIOM_LONG_TESTS=1` runs 1,000,000.

use axiom_jit::x86_64::JitOptions;
use axiom_tests::jit::{TestJitEnv, load};
use axiom_tests::progen::{Rng, generate, interpret};

const MEM_LEN: usize = 128;

#[test]
fn random_programs_agree_with_the_interpreter() {
    let count = if std::env::var_os("AXIOM_LONG_TESTS").is_some() { 1_000_000 } else { 20_000 };
    let env = TestJitEnv::new();
    let mut rng = Rng::new(0xa710_0001);
    for n in 0..count {
        let len = 10 + rng.below(120) as usize;
        let prog = generate(&mut rng, len, MEM_LEN);
        let init: Vec<u8> = (0..MEM_LEN).map(|_| rng.next_u64() as u8).collect();
        let opts = JitOptions { blinding: n % 2 == 1, ..JitOptions::default() };
        let image = load(&prog, &env, &opts).unwrap_or_else(|e| panic!("program {n}: {e}"));
        let mut mem = init.clone();
        let addr = mem.as_mut_ptr() as u64;
        // SAFETY: generated programs only touch their stack and `mem`
        // (through r6, a copy of r1) and only jump forward.
        #[allow(unsafe_code)]
        let r0 = unsafe { image.run(addr, MEM_LEN as u64) };
        let (want_r0, want_mem) = interpret(&prog, &init, addr);
        if r0 != want_r0 || mem != want_mem {
            let text = axiom_abi::instruction::decode_all(&prog)
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>()
                .join("\n");
            panic!(
                "program {n} (blinding {}): JIT r0 {r0:#x}, interpreter {want_r0:#x}; memory equal: {}\n{text}",
                opts.blinding,
                mem == want_mem
            );
        }
    }
    println!("jit differential: {count} random programs agree");
}
