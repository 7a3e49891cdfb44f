//! The in-process runtime: maps, helpers and JIT-compiled programs in a
//! host process (what `axbpf --backend axiom` loads into and runs), with
//! test runs like Linux's `BPF_PROG_TEST_RUN`.

use crate::helpers;
use crate::host::{ExecError, ExecImage};
use crate::maps::{Map, MapSpec};
use crate::prog::{SkbCtx, XdpCtx, rewrite_ctx};
use axiom_abi::Insn;
use axiom_abi::instruction::Pseudo;
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::types::prog_type;
use axiom_jit::program::{JitEnv, JitError, JitOptions};
use std::time::Instant;

/// Maps and the means to compile and run programs that use them.
#[derive(Default)]
pub struct Runtime {
    /// Maps by index (what a program's `lddw` names). Boxed: compiled
    /// programs hold their addresses, which must not move as maps are
    /// added.
    #[allow(clippy::vec_box)]
    maps: Vec<Box<Map>>,
}

/// The result of a test run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestRun {
    /// The program's 32-bit return value, as Linux reports it.
    pub retval: u32,
    /// Mean run time, nanoseconds.
    pub duration_ns: u32,
}

impl JitEnv for Runtime {
    fn helper_address(&self, id: i32) -> Option<u64> {
        helpers::address(id)
    }

    fn resolve_lddw(&self, kind: Pseudo, imm: i32, next_imm: i32) -> Option<u64> {
        let m = self.maps.get(usize::try_from(imm).ok()?)?;
        match kind {
            Pseudo::MapFd | Pseudo::MapIdx => Some(m.program_address()),
            Pseudo::MapValue | Pseudo::MapIdxValue => {
                Some(m.value_address()? + next_imm as u32 as u64)
            }
            _ => None,
        }
    }
}

impl Runtime {
    /// Creates a map, optionally filled with `init` (its first value) and
    /// frozen; returns its index.
    pub fn create_map(
        &mut self,
        spec: MapSpec,
        init: Option<&[u8]>,
        frozen: bool,
    ) -> Result<usize, Errno> {
        let mut m = Map::new(spec)?;
        if let Some(bytes) = init {
            m.update(&0u32.to_le_bytes(), bytes, 0)?;
        }
        m.frozen = frozen;
        self.maps.push(Box::new(m));
        Ok(self.maps.len() - 1)
    }

    /// Map `i`.
    pub fn map(&mut self, i: usize) -> Option<&mut Map> {
        self.maps.get_mut(i).map(|m| &mut **m)
    }

    /// JIT-compiles a verified program whose `lddw` instructions name maps
    /// by index, for this host's architecture, and maps it executable.
    /// `ctx_accesses` (from the verifier) are the instructions that touch
    /// the context, rewritten for the runtime's context layout.
    pub fn compile(
        &self,
        insns: &[Insn],
        prog_type: u32,
        ctx_accesses: &[usize],
    ) -> Result<ExecImage, String> {
        let insns = &rewrite_ctx(insns, prog_type, ctx_accesses)?;
        let opts = crate::host::host_jit_options();
        let compile = |opts: &JitOptions| -> Result<ExecImage, ExecError> {
            #[cfg(target_arch = "aarch64")]
            let image = axiom_jit::aarch64::compile(insns, self, opts);
            #[cfg(not(target_arch = "aarch64"))]
            let image = axiom_jit::x86_64::compile(insns, self, opts);
            ExecImage::new(image.map_err(ExecError::Link)?)
        };
        match compile(&opts) {
            Err(ExecError::Link(JitError::HelperOutOfReach { .. })) => {
                compile(&JitOptions { far_helper_calls: true, ..opts }).map_err(|e| e.to_string())
            }
            r => r.map_err(|e| e.to_string()),
        }
    }

    /// Runs `image` (a program of `prog_type`) `repeat` times on packet
    /// `data`, as Linux's test run does for socket filters: `skb->len` is
    /// the data after the 14-byte Ethernet header, `skb->protocol` its
    /// EtherType.
    pub fn test_run(
        &mut self,
        image: &ExecImage,
        prog_type: u32,
        data: &[u8],
        repeat: u32,
    ) -> Result<TestRun, String> {
        if prog_type == prog_type::XDP {
            return self.run_xdp(image, data, repeat);
        }
        if prog_type != prog_type::SOCKET_FILTER {
            return Err(format!(
                "test runs of program type {prog_type} are not supported by the in-process \
                 runtime; socket filters and XDP run"
            ));
        }
        let mut ctx = SkbCtx::for_frame(data)
            .ok_or("packet data shorter than an Ethernet header (14 bytes)")?;
        let ctx_addr = &mut *ctx as *mut SkbCtx as u64;
        self.run_timed(image, ctx_addr, repeat)
    }

    /// An XDP test run: the whole frame, received on interface 1 queue 0
    /// as Linux's test run gives it.
    fn run_xdp(&mut self, image: &ExecImage, data: &[u8], repeat: u32) -> Result<TestRun, String> {
        let mut frame = data.to_vec();
        let mut ctx = XdpCtx::for_frame(&mut frame);
        let ctx_addr = &mut *ctx as *mut XdpCtx as u64;
        let r = self.run_timed(image, ctx_addr, repeat);
        drop(frame);
        r
    }

    fn run_timed(
        &mut self,
        image: &ExecImage,
        ctx_addr: u64,
        repeat: u32,
    ) -> Result<TestRun, String> {
        let repeat = repeat.max(1);
        let start = Instant::now();
        let mut r0 = 0;
        for _ in 0..repeat {
            let r = crate::raw::run_verified(image, ctx_addr);
            r0 = r;
        }
        let ns = start.elapsed().as_nanos() / repeat as u128;
        for m in &mut self.maps {
            m.collect();
        }
        Ok(TestRun { retval: r0 as u32, duration_ns: ns.min(u32::MAX as u128) as u32 })
    }
}
