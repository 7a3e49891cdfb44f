//! Every encoder checked against an independent assembler: the same
//! instruction written in assembly is assembled by LLVM 22's `llvm-mc`
//! and the words compared, over a spread of registers, immediates and
//! offsets. Skips with a printed reason where `llvm-mc-22` is missing.

use super::enc::*;
use std::fmt::Write as _;
use std::process::Command;

const REGS: [u8; 8] = [0, 1, 7, 12, 19, 25, 29, 30];

fn r(w: W, n: u8) -> String {
    match (w, n) {
        (W::X64, 31) => "xzr".into(),
        (W::W32, 31) => "wzr".into(),
        (W::X64, n) => format!("x{n}"),
        (W::W32, n) => format!("w{n}"),
    }
}

fn sp_or(w: W, n: u8) -> String {
    match (w, n) {
        (W::X64, 31) => "sp".into(),
        (W::W32, 31) => "wsp".into(),
        _ => r(w, n),
    }
}

/// (our word, the same instruction in LLVM's assembly syntax)
fn cases() -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = Vec::new();
    let widths = [W::W32, W::X64];
    for &w in &widths {
        for &d in &REGS {
            for &n in &REGS {
                let (rd, rn) = (X(d), X(n));
                let m = REGS[(d as usize + n as usize) % REGS.len()];
                let rm = X(m);
                let (sd, sn, sm) = (r(w, d), r(w, n), r(w, m));
                v.push((add(w, rd, rn, rm), format!("add {sd}, {sn}, {sm}")));
                v.push((sub(w, rd, rn, rm), format!("sub {sd}, {sn}, {sm}")));
                v.push((and(w, rd, rn, rm), format!("and {sd}, {sn}, {sm}")));
                v.push((orr(w, rd, rn, rm), format!("orr {sd}, {sn}, {sm}")));
                v.push((eor(w, rd, rn, rm), format!("eor {sd}, {sn}, {sm}")));
                v.push((mul(w, rd, rn, rm), format!("mul {sd}, {sn}, {sm}")));
                v.push((udiv(w, rd, rn, rm), format!("udiv {sd}, {sn}, {sm}")));
                v.push((sdiv(w, rd, rn, rm), format!("sdiv {sd}, {sn}, {sm}")));
                v.push((lslv(w, rd, rn, rm), format!("lsl {sd}, {sn}, {sm}")));
                v.push((lsrv(w, rd, rn, rm), format!("lsr {sd}, {sn}, {sm}")));
                v.push((asrv(w, rd, rn, rm), format!("asr {sd}, {sn}, {sm}")));
                v.push((msub(w, rd, rn, rm, rd), format!("msub {sd}, {sn}, {sm}, {sd}")));
                v.push((mov(w, rd, rn), format!("mov {sd}, {sn}")));
                v.push((neg(w, rd, rn), format!("neg {sd}, {sn}")));
                v.push((rev16(w, rd, rn), format!("rev16 {sd}, {sn}")));
                v.push((rev(w, rd, rn), format!("rev {sd}, {sn}")));
                v.push((cmp(w, rn, rm), format!("cmp {sn}, {sm}")));
                v.push((tst(w, rn, rm), format!("tst {sn}, {sm}")));
                let bits = if w == W::X64 { 64 } else { 32 };
                for s in [1, 7, bits / 2, bits - 1] {
                    v.push((lsl_imm(w, rd, rn, s), format!("lsl {sd}, {sn}, #{s}")));
                    v.push((lsr_imm(w, rd, rn, s), format!("lsr {sd}, {sn}, #{s}")));
                    v.push((asr_imm(w, rd, rn, s), format!("asr {sd}, {sn}, #{s}")));
                }
                for from in [8, 16] {
                    let t = if from == 8 { "sxtb" } else { "sxth" };
                    v.push((sxt(w, rd, rn, from), format!("{t} {sd}, {}", r(W::W32, n))));
                }
                for imm in [0, 1, 255, 4095] {
                    v.push((
                        add_imm(w, rd, rn, imm),
                        format!("add {}, {}, #{imm}", sp_or(w, d), sp_or(w, n)),
                    ));
                    v.push((
                        sub_imm(w, rd, rn, imm),
                        format!("sub {}, {}, #{imm}", sp_or(w, d), sp_or(w, n)),
                    ));
                    v.push((cmp_imm(w, rn, imm), format!("cmp {}, #{imm}", sp_or(w, n))));
                }
            }
            for hw in 0..if w == W::X64 { 4 } else { 2 } {
                for imm in [0u16, 1, 0x1234, 0xffff] {
                    let rd = X(d);
                    let sd = r(w, d);
                    let sh = 16 * hw;
                    v.push((movz(w, rd, imm, hw), format!("movz {sd}, #{imm}, lsl #{sh}")));
                    v.push((movk(w, rd, imm, hw), format!("movk {sd}, #{imm}, lsl #{sh}")));
                    v.push((movn(w, rd, imm, hw), format!("movn {sd}, #{imm}, lsl #{sh}")));
                }
            }
        }
        for &d in &REGS {
            for &n in &REGS {
                let (rs, rt, rn) = (X(d), X((d + 1) % 31), X(n));
                let (ss, st, sn) = (r(w, d), r(w, (d + 1) % 31), r(W::X64, n));
                for (op, name) in [
                    (AtomicOp::Add, "ldaddal"),
                    (AtomicOp::Clr, "ldclral"),
                    (AtomicOp::Eor, "ldeoral"),
                    (AtomicOp::Set, "ldsetal"),
                ] {
                    v.push((ldopal(w, op, rs, rt, rn), format!("{name} {ss}, {st}, [{sn}]")));
                }
                v.push((swpal(w, rs, rt, rn), format!("swpal {ss}, {st}, [{sn}]")));
                v.push((casal(w, rs, rt, rn), format!("casal {ss}, {st}, [{sn}]")));
                v.push((ldaxr(w, rt, rn), format!("ldaxr {st}, [{sn}]")));
                v.push((stlxr(w, X(9), rt, rn), format!("stlxr w9, {st}, [{sn}]")));
            }
        }
    }
    // 64-bit only forms.
    for &d in &REGS {
        for &n in &REGS {
            let (rd, rn) = (X(d), X(n));
            let (sd, sn) = (r(W::X64, d), r(W::X64, n));
            let wd = r(W::W32, d);
            let base = if n == 31 { "sp".to_string() } else { sn.clone() };
            let m = X(REGS[(d as usize + 3) % REGS.len()]);
            let sm = r(W::X64, m.0);
            v.push((rev32(rd, rn), format!("rev32 {sd}, {sn}")));
            v.push((sxt(W::X64, rd, rn, 32), format!("sxtw {sd}, {}", r(W::W32, n))));
            v.push((uxt(rd, rn, 8), format!("uxtb {wd}, {}", r(W::W32, n))));
            v.push((uxt(rd, rn, 16), format!("uxth {wd}, {}", r(W::W32, n))));
            for off in [-256, -8, -1, 0, 1, 8, 255] {
                v.push((ldur(Size::X, rd, rn, off), format!("ldur {sd}, [{base}, #{off}]")));
                v.push((ldur(Size::W, rd, rn, off), format!("ldur {wd}, [{base}, #{off}]")));
                v.push((ldur(Size::H, rd, rn, off), format!("ldurh {wd}, [{base}, #{off}]")));
                v.push((ldur(Size::B, rd, rn, off), format!("ldurb {wd}, [{base}, #{off}]")));
                v.push((stur(Size::X, rd, rn, off), format!("stur {sd}, [{base}, #{off}]")));
                v.push((stur(Size::W, rd, rn, off), format!("stur {wd}, [{base}, #{off}]")));
                v.push((stur(Size::H, rd, rn, off), format!("sturh {wd}, [{base}, #{off}]")));
                v.push((stur(Size::B, rd, rn, off), format!("sturb {wd}, [{base}, #{off}]")));
                v.push((ldurs(Size::W, rd, rn, off), format!("ldursw {sd}, [{base}, #{off}]")));
                v.push((ldurs(Size::H, rd, rn, off), format!("ldursh {sd}, [{base}, #{off}]")));
                v.push((ldurs(Size::B, rd, rn, off), format!("ldursb {sd}, [{base}, #{off}]")));
            }
            v.push((ldr_reg(Size::X, rd, rn, m), format!("ldr {sd}, [{base}, {sm}]")));
            v.push((ldr_reg(Size::W, rd, rn, m), format!("ldr {wd}, [{base}, {sm}]")));
            v.push((ldr_reg(Size::H, rd, rn, m), format!("ldrh {wd}, [{base}, {sm}]")));
            v.push((ldr_reg(Size::B, rd, rn, m), format!("ldrb {wd}, [{base}, {sm}]")));
            v.push((str_reg(Size::X, rd, rn, m), format!("str {sd}, [{base}, {sm}]")));
            v.push((str_reg(Size::W, rd, rn, m), format!("str {wd}, [{base}, {sm}]")));
            v.push((str_reg(Size::H, rd, rn, m), format!("strh {wd}, [{base}, {sm}]")));
            v.push((str_reg(Size::B, rd, rn, m), format!("strb {wd}, [{base}, {sm}]")));
            v.push((ldrs_reg(Size::W, rd, rn, m), format!("ldrsw {sd}, [{base}, {sm}]")));
            v.push((ldrs_reg(Size::H, rd, rn, m), format!("ldrsh {sd}, [{base}, {sm}]")));
            v.push((ldrs_reg(Size::B, rd, rn, m), format!("ldrsb {sd}, [{base}, {sm}]")));
            v.push((blr(rn), format!("blr {sn}")));
            v.push((br(rn), format!("br {sn}")));
            if d != 31 && n != d {
                for off in [-512, -16, 0, 16, 504] {
                    v.push((stp_pre(rd, rn, SP, off), format!("stp {sd}, {sn}, [sp, #{off}]!")));
                    v.push((ldp_post(rd, rn, SP, off), format!("ldp {sd}, {sn}, [sp], #{off}")));
                }
            }
        }
    }
    // Branches: offsets relative to the instruction itself.
    for off in [-(1 << 20), -1024, -4, 0, 4, 4096, (1 << 20) - 4] {
        for c in [Cond::Eq, Cond::Ne, Cond::Hs, Cond::Lo, Cond::Hi, Cond::Ls, Cond::Ge, Cond::Lt] {
            let name = format!("{c:?}").to_lowercase();
            v.push((b_cond(c, off), format!("b.{name} #{off}")));
        }
        v.push((cbnz(W::W32, X(9), off), format!("cbnz w9, #{off}")));
        v.push((b(off), format!("b #{off}")));
        v.push((bl(off), format!("bl #{off}")));
    }
    for off in [-(1 << 27), (1 << 27) - 4] {
        v.push((b(off), format!("b #{off}")));
        v.push((bl(off), format!("bl #{off}")));
    }
    v.push((RET, "ret".into()));
    v.push((BRK, "brk #0".into()));
    v.push((DMB_ISH, "dmb ish".into()));
    v
}

/// Parses `// encoding: [0x20,0x00,0x80,0xd2]` lines into words.
fn llvm_words(asm: &str) -> Option<Vec<u32>> {
    let out = Command::new("llvm-mc-22")
        .args(["-triple=aarch64", "-mattr=+lse", "-show-encoding"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(asm.as_bytes())?;
            child.wait_with_output()
        })
        .ok()?;
    assert!(out.status.success(), "llvm-mc failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter_map(|l| l.split_once("encoding: [").map(|(_, e)| e.trim_end_matches(']')))
            .map(|e| {
                let b: Vec<u8> = e
                    .split(',')
                    .map(|x| u8::from_str_radix(x.trim().trim_start_matches("0x"), 16).unwrap())
                    .collect();
                u32::from_le_bytes([b[0], b[1], b[2], b[3]])
            })
            .collect(),
    )
}

#[test]
fn encoders_match_llvm_mc() {
    let cases = cases();
    let mut asm = String::new();
    for (_, text) in &cases {
        writeln!(asm, "{text}").unwrap();
    }
    let Some(words) = llvm_words(&asm) else {
        println!("skipped: llvm-mc-22 not found");
        return;
    };
    assert_eq!(words.len(), cases.len(), "llvm-mc assembled a different number of instructions");
    let wrong: Vec<String> = cases
        .iter()
        .zip(&words)
        .filter(|((ours, _), theirs)| ours != *theirs)
        .map(|((ours, text), theirs)| format!("{text}: ours {ours:#010x}, llvm-mc {theirs:#010x}"))
        .collect();
    assert!(wrong.is_empty(), "{} of {} differ:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    println!("aarch64 encoders: {} instructions equal llvm-mc-22's", cases.len());
}
