//! Prints Linux's and Axiom's verifier logs for one program, side by side
//! (`cargo run -p axiom-tests --example logdiff -- LEVEL FILE`).
use axiom_abi::asm::assemble;
use axiom_abi::uapi::types::prog_type;
use axiom_bpf::verify::KernelPlatform;
use axiom_tests::linux::load_with_log;
use axiom_verifier::{Options, verify};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let level: u32 = args[1].parse().unwrap();
    let prog = assemble(&std::fs::read_to_string(&args[2]).unwrap()).unwrap();
    let (errno, linux) = load_with_log(prog_type::SOCKET_FILTER, &prog, level);
    let opts = Options {
        log_level: level,
        log_size: 1 << 20,
        allow_uninit_stack: true,
        ..Options::default()
    };
    let ours = verify(&prog, prog_type::SOCKET_FILTER, &KernelPlatform::default(), &opts);
    println!(
        "=== Linux (errno {errno})\n{linux}\n=== Axiom ({:?})\n{}",
        ours.result.as_ref().err().map(|e| e.errno),
        ours.log
    );
}
