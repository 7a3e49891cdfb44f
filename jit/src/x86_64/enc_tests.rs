//! Every encoder, checked by decoding its bytes with iced-x86 and comparing
//! the instruction form and operands with the intended ones, over all
//! registers and a spread of displacements and immediates.

use super::enc::*;
use iced_x86::{Code, Decoder, DecoderOptions, Instruction, OpKind, Register};

const Q: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];
const D: [Register; 16] = [
    Register::EAX,
    Register::ECX,
    Register::EDX,
    Register::EBX,
    Register::ESP,
    Register::EBP,
    Register::ESI,
    Register::EDI,
    Register::R8D,
    Register::R9D,
    Register::R10D,
    Register::R11D,
    Register::R12D,
    Register::R13D,
    Register::R14D,
    Register::R15D,
];
const W: [Register; 16] = [
    Register::AX,
    Register::CX,
    Register::DX,
    Register::BX,
    Register::SP,
    Register::BP,
    Register::SI,
    Register::DI,
    Register::R8W,
    Register::R9W,
    Register::R10W,
    Register::R11W,
    Register::R12W,
    Register::R13W,
    Register::R14W,
    Register::R15W,
];
const B: [Register; 16] = [
    Register::AL,
    Register::CL,
    Register::DL,
    Register::BL,
    Register::SPL,
    Register::BPL,
    Register::SIL,
    Register::DIL,
    Register::R8L,
    Register::R9L,
    Register::R10L,
    Register::R11L,
    Register::R12L,
    Register::R13L,
    Register::R14L,
    Register::R15L,
];

fn reg(sz: Sz, r: R) -> Register {
    let table = match sz {
        Sz::B => &B,
        Sz::H => &W,
        Sz::W => &D,
        Sz::Q => &Q,
    };
    table[r as usize]
}

const DISPS: [i32; 7] = [0, 1, -8, 127, -128, 512, -0x1234_5678];
const IMMS: [i32; 7] = [0, 1, -1, 127, -128, 0x1234, i32::MIN];

/// Decodes exactly one instruction that spans all of `bytes`.
fn one(f: impl FnOnce(&mut Asm)) -> Instruction {
    let mut a = Asm::default();
    f(&mut a);
    let mut dec = Decoder::with_ip(64, &a.code, 0x1000, DecoderOptions::NONE);
    let i = dec.decode();
    assert!(!i.is_invalid(), "invalid encoding {:02x?}", a.code);
    assert_eq!(i.len(), a.code.len(), "trailing bytes in {:02x?}", a.code);
    i
}

fn check_mem(i: &Instruction, op: u32, m: Mem) {
    assert_eq!(i.op_kind(op), OpKind::Memory);
    assert_eq!(i.memory_base(), Q[m.base as usize]);
    assert_eq!(i.memory_index(), Register::None);
    assert_eq!(i.memory_displacement64(), m.disp as i64 as u64);
}

fn mems() -> impl Iterator<Item = Mem> {
    R::ALL.into_iter().flat_map(|base| DISPS.into_iter().map(move |disp| Mem { base, disp }))
}

#[test]
fn register_moves() {
    for dst in R::ALL {
        for src in R::ALL {
            let i = one(|a| a.mov_rr(Sz::Q, dst, src));
            assert_eq!(
                (i.code(), i.op0_register(), i.op1_register()),
                (Code::Mov_rm64_r64, Q[dst as usize], Q[src as usize])
            );
            let i = one(|a| a.mov_rr(Sz::W, dst, src));
            assert_eq!(
                (i.code(), i.op0_register(), i.op1_register()),
                (Code::Mov_rm32_r32, D[dst as usize], D[src as usize])
            );
            for (from, to, code) in [
                (Sz::B, Sz::W, Code::Movsx_r32_rm8),
                (Sz::B, Sz::Q, Code::Movsx_r64_rm8),
                (Sz::H, Sz::W, Code::Movsx_r32_rm16),
                (Sz::H, Sz::Q, Code::Movsx_r64_rm16),
                (Sz::W, Sz::Q, Code::Movsxd_r64_rm32),
            ] {
                let i = one(|a| a.movsx_rr(from, to, dst, src));
                assert_eq!(
                    (i.code(), i.op0_register(), i.op1_register()),
                    (code, reg(to, dst), reg(from, src))
                );
            }
            for (from, code) in [(Sz::B, Code::Movzx_r32_rm8), (Sz::H, Code::Movzx_r32_rm16)] {
                let i = one(|a| a.movzx_rr(from, dst, src));
                assert_eq!(
                    (i.code(), i.op0_register(), i.op1_register()),
                    (code, D[dst as usize], reg(from, src))
                );
            }
        }
    }
}

#[test]
fn immediate_moves() {
    for dst in R::ALL {
        for imm in IMMS {
            let i = one(|a| a.mov_r32_imm(dst, imm as u32));
            assert_eq!(
                (i.code(), i.op0_register(), i.immediate32()),
                (Code::Mov_r32_imm32, D[dst as usize], imm as u32)
            );
            let i = one(|a| a.mov_r64_simm32(dst, imm));
            assert_eq!(
                (i.code(), i.op0_register(), i.immediate(1)),
                (Code::Mov_rm64_imm32, Q[dst as usize], imm as i64 as u64)
            );
        }
        let i = one(|a| a.mov_r64_imm64(dst, 0x1122_3344_5566_7788));
        assert_eq!(
            (i.code(), i.op0_register(), i.immediate64()),
            (Code::Mov_r64_imm64, Q[dst as usize], 0x1122_3344_5566_7788)
        );
    }
}

#[test]
fn loads_and_stores() {
    for r in R::ALL {
        for m in mems() {
            for (sz, code) in [
                (Sz::B, Code::Movzx_r32_rm8),
                (Sz::H, Code::Movzx_r32_rm16),
                (Sz::W, Code::Mov_r32_rm32),
                (Sz::Q, Code::Mov_r64_rm64),
            ] {
                let i = one(|a| a.load(sz, r, m));
                assert_eq!(i.code(), code);
                assert_eq!(
                    i.op0_register(),
                    if sz == Sz::Q { Q[r as usize] } else { D[r as usize] }
                );
                check_mem(&i, 1, m);
            }
            for (sz, code) in [
                (Sz::B, Code::Movsx_r64_rm8),
                (Sz::H, Code::Movsx_r64_rm16),
                (Sz::W, Code::Movsxd_r64_rm32),
            ] {
                let i = one(|a| a.load_sx(sz, r, m));
                assert_eq!((i.code(), i.op0_register()), (code, Q[r as usize]));
                check_mem(&i, 1, m);
            }
            for (sz, code) in [
                (Sz::B, Code::Mov_rm8_r8),
                (Sz::H, Code::Mov_rm16_r16),
                (Sz::W, Code::Mov_rm32_r32),
                (Sz::Q, Code::Mov_rm64_r64),
            ] {
                let i = one(|a| a.store(sz, m, r));
                assert_eq!((i.code(), i.op1_register()), (code, reg(sz, r)));
                check_mem(&i, 0, m);
            }
            let i = one(|a| a.lea(r, m));
            assert_eq!((i.code(), i.op0_register()), (Code::Lea_r64_m, Q[r as usize]));
            check_mem(&i, 1, m);
        }
    }
    for m in mems() {
        for imm in IMMS {
            for (sz, code, want) in [
                (Sz::B, Code::Mov_rm8_imm8, imm as u8 as u64),
                (Sz::H, Code::Mov_rm16_imm16, imm as u16 as u64),
                (Sz::W, Code::Mov_rm32_imm32, imm as u32 as u64),
                (Sz::Q, Code::Mov_rm64_imm32, imm as i64 as u64),
            ] {
                let i = one(|a| a.store_imm(sz, m, imm));
                assert_eq!((i.code(), i.immediate(1)), (code, want));
                check_mem(&i, 0, m);
            }
        }
    }
}

fn arith_codes(op: Arith) -> [Code; 8] {
    // rm64_r64, rm32_r32, rm64_imm8, rm32_imm8, rm64_imm32, rm32_imm32, RAX_imm32, EAX_imm32
    match op {
        Arith::Add => [
            Code::Add_rm64_r64,
            Code::Add_rm32_r32,
            Code::Add_rm64_imm8,
            Code::Add_rm32_imm8,
            Code::Add_rm64_imm32,
            Code::Add_rm32_imm32,
            Code::Add_RAX_imm32,
            Code::Add_EAX_imm32,
        ],
        Arith::Or => [
            Code::Or_rm64_r64,
            Code::Or_rm32_r32,
            Code::Or_rm64_imm8,
            Code::Or_rm32_imm8,
            Code::Or_rm64_imm32,
            Code::Or_rm32_imm32,
            Code::Or_RAX_imm32,
            Code::Or_EAX_imm32,
        ],
        Arith::And => [
            Code::And_rm64_r64,
            Code::And_rm32_r32,
            Code::And_rm64_imm8,
            Code::And_rm32_imm8,
            Code::And_rm64_imm32,
            Code::And_rm32_imm32,
            Code::And_RAX_imm32,
            Code::And_EAX_imm32,
        ],
        Arith::Sub => [
            Code::Sub_rm64_r64,
            Code::Sub_rm32_r32,
            Code::Sub_rm64_imm8,
            Code::Sub_rm32_imm8,
            Code::Sub_rm64_imm32,
            Code::Sub_rm32_imm32,
            Code::Sub_RAX_imm32,
            Code::Sub_EAX_imm32,
        ],
        Arith::Xor => [
            Code::Xor_rm64_r64,
            Code::Xor_rm32_r32,
            Code::Xor_rm64_imm8,
            Code::Xor_rm32_imm8,
            Code::Xor_rm64_imm32,
            Code::Xor_rm32_imm32,
            Code::Xor_RAX_imm32,
            Code::Xor_EAX_imm32,
        ],
        Arith::Cmp => [
            Code::Cmp_rm64_r64,
            Code::Cmp_rm32_r32,
            Code::Cmp_rm64_imm8,
            Code::Cmp_rm32_imm8,
            Code::Cmp_rm64_imm32,
            Code::Cmp_rm32_imm32,
            Code::Cmp_RAX_imm32,
            Code::Cmp_EAX_imm32,
        ],
    }
}

#[test]
fn arithmetic() {
    for op in [Arith::Add, Arith::Or, Arith::And, Arith::Sub, Arith::Xor, Arith::Cmp] {
        let c = arith_codes(op);
        for dst in R::ALL {
            for src in R::ALL {
                let i = one(|a| a.arith_rr(Sz::Q, op, dst, src));
                assert_eq!(
                    (i.code(), i.op0_register(), i.op1_register()),
                    (c[0], Q[dst as usize], Q[src as usize])
                );
                let i = one(|a| a.arith_rr(Sz::W, op, dst, src));
                assert_eq!(
                    (i.code(), i.op0_register(), i.op1_register()),
                    (c[1], D[dst as usize], D[src as usize])
                );
            }
            for imm in IMMS {
                let short = is_imm8(imm as i64);
                let i = one(|a| a.arith_ri(Sz::Q, op, dst, imm));
                let want = if short {
                    c[2]
                } else if dst == R::Rax {
                    c[6]
                } else {
                    c[4]
                };
                assert_eq!(
                    (i.code(), i.op0_register(), i.immediate(1)),
                    (want, Q[dst as usize], imm as i64 as u64)
                );
                let i = one(|a| a.arith_ri(Sz::W, op, dst, imm));
                let want = if short {
                    c[3]
                } else if dst == R::Rax {
                    c[7]
                } else {
                    c[5]
                };
                assert_eq!(
                    (i.code(), i.op0_register(), i.immediate(1) as u32),
                    (want, D[dst as usize], imm as u32)
                );
            }
        }
    }
}

#[test]
fn multiply_divide_negate_test() {
    for dst in R::ALL {
        for src in R::ALL {
            let i = one(|a| a.imul_rr(Sz::Q, dst, src));
            assert_eq!(
                (i.code(), i.op0_register(), i.op1_register()),
                (Code::Imul_r64_rm64, Q[dst as usize], Q[src as usize])
            );
            let i = one(|a| a.imul_rr(Sz::W, dst, src));
            assert_eq!(
                (i.code(), i.op0_register(), i.op1_register()),
                (Code::Imul_r32_rm32, D[dst as usize], D[src as usize])
            );
            let i = one(|a| a.test_rr(Sz::Q, dst, src));
            assert_eq!(
                (i.code(), i.op0_register(), i.op1_register()),
                (Code::Test_rm64_r64, Q[dst as usize], Q[src as usize])
            );
            for imm in IMMS {
                let i = one(|a| a.imul_rri(Sz::Q, dst, src, imm));
                let code = if is_imm8(imm as i64) {
                    Code::Imul_r64_rm64_imm8
                } else {
                    Code::Imul_r64_rm64_imm32
                };
                assert_eq!(
                    (i.code(), i.op0_register(), i.op1_register(), i.immediate(2)),
                    (code, Q[dst as usize], Q[src as usize], imm as i64 as u64)
                );
            }
        }
        for (sz, regs, neg, div, idiv) in [
            (Sz::Q, &Q, Code::Neg_rm64, Code::Div_rm64, Code::Idiv_rm64),
            (Sz::W, &D, Code::Neg_rm32, Code::Div_rm32, Code::Idiv_rm32),
        ] {
            assert_eq!(
                (one(|a| a.neg(sz, dst)).code(), one(|a| a.neg(sz, dst)).op0_register()),
                (neg, regs[dst as usize])
            );
            assert_eq!(
                (one(|a| a.div(sz, dst)).code(), one(|a| a.div(sz, dst)).op0_register()),
                (div, regs[dst as usize])
            );
            assert_eq!(
                (one(|a| a.idiv(sz, dst)).code(), one(|a| a.idiv(sz, dst)).op0_register()),
                (idiv, regs[dst as usize])
            );
        }
        for imm in IMMS {
            let i = one(|a| a.test_ri(Sz::Q, dst, imm));
            let code = if dst == R::Rax { Code::Test_RAX_imm32 } else { Code::Test_rm64_imm32 };
            assert_eq!(
                (i.code(), i.op0_register(), i.immediate(1)),
                (code, Q[dst as usize], imm as i64 as u64)
            );
        }
    }
    assert_eq!(one(|a| a.cdq(Sz::W)).code(), Code::Cdq);
    assert_eq!(one(|a| a.cdq(Sz::Q)).code(), Code::Cqo);
}

#[test]
fn shifts_and_byte_swaps() {
    let table = [
        (
            Shift::Shl,
            [
                Code::Shl_rm64_imm8,
                Code::Shl_rm64_1,
                Code::Shl_rm64_CL,
                Code::Shl_rm32_imm8,
                Code::Shl_rm32_1,
                Code::Shl_rm32_CL,
            ],
        ),
        (
            Shift::Shr,
            [
                Code::Shr_rm64_imm8,
                Code::Shr_rm64_1,
                Code::Shr_rm64_CL,
                Code::Shr_rm32_imm8,
                Code::Shr_rm32_1,
                Code::Shr_rm32_CL,
            ],
        ),
        (
            Shift::Sar,
            [
                Code::Sar_rm64_imm8,
                Code::Sar_rm64_1,
                Code::Sar_rm64_CL,
                Code::Sar_rm32_imm8,
                Code::Sar_rm32_1,
                Code::Sar_rm32_CL,
            ],
        ),
    ];
    for r in R::ALL {
        for (op, c) in table {
            for (sz, regs, k) in [(Sz::Q, &Q, 0), (Sz::W, &D, 3)] {
                for amount in [1u8, 2, 31] {
                    let i = one(|a| a.shift_ri(sz, op, r, amount));
                    let code = if amount == 1 { c[k + 1] } else { c[k] };
                    assert_eq!((i.code(), i.op0_register()), (code, regs[r as usize]));
                    if amount != 1 {
                        assert_eq!(i.immediate(1), amount as u64);
                    }
                }
                let i = one(|a| a.shift_cl(sz, op, r));
                assert_eq!((i.code(), i.op0_register()), (c[k + 2], regs[r as usize]));
            }
        }
        let i = one(|a| a.bswap(Sz::Q, r));
        assert_eq!((i.code(), i.op0_register()), (Code::Bswap_r64, Q[r as usize]));
        let i = one(|a| a.bswap(Sz::W, r));
        assert_eq!((i.code(), i.op0_register()), (Code::Bswap_r32, D[r as usize]));
        let i = one(|a| a.rol16_8(r));
        assert_eq!(
            (i.code(), i.op0_register(), i.immediate(1)),
            (Code::Rol_rm16_imm8, W[r as usize], 8)
        );
    }
}

#[test]
fn atomics() {
    for src in R::ALL {
        for m in mems() {
            for (sz, regs) in [(Sz::Q, &Q), (Sz::W, &D)] {
                let q = sz == Sz::Q;
                for op in [Arith::Add, Arith::Or, Arith::And, Arith::Xor] {
                    let i = one(|a| a.lock_arith(sz, op, m, src));
                    assert!(i.has_lock_prefix());
                    assert_eq!(
                        (i.code(), i.op1_register()),
                        (arith_codes(op)[if q { 0 } else { 1 }], regs[src as usize])
                    );
                    check_mem(&i, 0, m);
                }
                let i = one(|a| a.lock_xadd(sz, m, src));
                assert!(i.has_lock_prefix());
                assert_eq!(
                    (i.code(), i.op1_register()),
                    (if q { Code::Xadd_rm64_r64 } else { Code::Xadd_rm32_r32 }, regs[src as usize])
                );
                check_mem(&i, 0, m);
                let i = one(|a| a.xchg_mem(sz, m, src));
                assert_eq!(
                    (i.code(), i.op1_register()),
                    (if q { Code::Xchg_rm64_r64 } else { Code::Xchg_rm32_r32 }, regs[src as usize])
                );
                check_mem(&i, 0, m);
                let i = one(|a| a.lock_cmpxchg(sz, m, src));
                assert!(i.has_lock_prefix());
                assert_eq!(
                    (i.code(), i.op1_register()),
                    (
                        if q { Code::Cmpxchg_rm64_r64 } else { Code::Cmpxchg_rm32_r32 },
                        regs[src as usize]
                    )
                );
                check_mem(&i, 0, m);
            }
        }
    }
}

#[test]
fn control_flow() {
    let ccs = [
        (Cc::B, Code::Jb_rel8_64, Code::Jb_rel32_64),
        (Cc::Ae, Code::Jae_rel8_64, Code::Jae_rel32_64),
        (Cc::E, Code::Je_rel8_64, Code::Je_rel32_64),
        (Cc::Ne, Code::Jne_rel8_64, Code::Jne_rel32_64),
        (Cc::Be, Code::Jbe_rel8_64, Code::Jbe_rel32_64),
        (Cc::A, Code::Ja_rel8_64, Code::Ja_rel32_64),
        (Cc::L, Code::Jl_rel8_64, Code::Jl_rel32_64),
        (Cc::Ge, Code::Jge_rel8_64, Code::Jge_rel32_64),
        (Cc::Le, Code::Jle_rel8_64, Code::Jle_rel32_64),
        (Cc::G, Code::Jg_rel8_64, Code::Jg_rel32_64),
    ];
    for rel in [0i32, 5, -2, 127, -128] {
        let i = one(|a| a.jmp8(rel as i8));
        assert_eq!(
            (i.code(), i.near_branch64()),
            (Code::Jmp_rel8_64, (0x1002 + rel as i64) as u64)
        );
        for (cc, c8, _) in ccs {
            let i = one(|a| a.jcc8(cc, rel as i8));
            assert_eq!((i.code(), i.near_branch64()), (c8, (0x1002 + rel as i64) as u64));
        }
    }
    for rel in [0i32, 1000, -1000, 0x7fff_0000] {
        let i = one(|a| a.jmp32(rel));
        assert_eq!(
            (i.code(), i.near_branch64()),
            (Code::Jmp_rel32_64, (0x1005 + rel as i64) as u64)
        );
        let i = one(|a| a.call32(rel));
        assert_eq!(
            (i.code(), i.near_branch64()),
            (Code::Call_rel32_64, (0x1005 + rel as i64) as u64)
        );
        for (cc, _, c32) in ccs {
            let i = one(|a| a.jcc32(cc, rel));
            assert_eq!((i.code(), i.near_branch64()), (c32, (0x1006 + rel as i64) as u64));
        }
    }
    for r in R::ALL {
        let i = one(|a| a.call_r(r));
        assert_eq!((i.code(), i.op0_register()), (Code::Call_rm64, Q[r as usize]));
        let i = one(|a| a.jmp_r(r));
        assert_eq!((i.code(), i.op0_register()), (Code::Jmp_rm64, Q[r as usize]));
        let i = one(|a| a.push(r));
        assert_eq!((i.code(), i.op0_register()), (Code::Push_r64, Q[r as usize]));
        let i = one(|a| a.pop(r));
        assert_eq!((i.code(), i.op0_register()), (Code::Pop_r64, Q[r as usize]));
    }
    assert_eq!(one(|a| a.ret()).code(), Code::Retnq);
    assert_eq!(one(|a| a.leave()).code(), Code::Leaveq);
    let i = one(|a| a.push_imm8(-3));
    assert_eq!((i.code(), i.immediate(0)), (Code::Pushq_imm8, -3i64 as u64));
    assert_eq!(one(|a| a.int3()).code(), Code::Int3);
}

#[test]
fn load_imm64_picks_the_shortest_form() {
    for (imm, code, len) in [
        (0u64, Code::Xor_rm32_r32, 2),
        (5, Code::Mov_r32_imm32, 5),
        (0xffff_ffff, Code::Mov_r32_imm32, 5),
        (u64::MAX, Code::Mov_rm64_imm32, 7),
        (0x1_0000_0000, Code::Mov_r64_imm64, 10),
    ] {
        let mut a = Asm::default();
        a.load_imm64(R::Rax, imm);
        assert_eq!(a.code.len(), len, "{imm:#x}");
        assert_eq!(one(|a| a.load_imm64(R::Rax, imm)).code(), code);
    }
}
