//! The remote `bpf()` transport on this machine: `axbpf agent --listen`
//! serving the host kernel, `axbpf --remote` talking to it. What the
//! agent refuses is checked everywhere (it refuses before any system
//! call); loads, runs, pins and refusals by the kernel where the host's
//! `bpf()` is usable, compared with the same commands made locally.

use axiom_abi::remote::{
    self, Buffer, Dir, REQUEST_MAGIC, RESPONSE_MAGIC, Request, Response, kind,
};
use axiom_abi::uapi::types::cmd;
use axiom_tests::bpfprogs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// An agent listening on a socket of its own, killed at the end.
struct AgentProcess {
    child: Child,
    socket: PathBuf,
}

impl AgentProcess {
    fn start(name: &str) -> AgentProcess {
        let socket = std::env::temp_dir().join(format!("axbpf-{name}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let child = Command::new(env!("CARGO_BIN_EXE_axbpf"))
            .args(["agent", "--listen"])
            .arg(&socket)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("axbpf agent starts");
        let until = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < until, "the agent never listened on {}", socket.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        AgentProcess { child, socket }
    }

    fn axbpf(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_axbpf"))
            .arg("--remote")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("axbpf runs")
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Sends one raw request body and reads the answer.
fn exchange(stream: &mut UnixStream, id: u32, request: &Request) -> Response {
    let body = remote::encode_request(id, request);
    stream.write_all(&remote::frame(REQUEST_MAGIC, &body)).unwrap();
    read_response(stream)
}

fn read_response(stream: &mut UnixStream) -> Response {
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[..4], RESPONSE_MAGIC);
    let len = u32::from_le_bytes(head[4..].try_into().unwrap()) as usize;
    let mut body = vec![0u8; len + 4];
    stream.read_exact(&mut body).unwrap();
    let crc = u32::from_le_bytes(body[len..].try_into().unwrap());
    body.truncate(len);
    assert!(remote::crc_ok(&body, crc), "the agent's frame has a bad checksum");
    remote::decode_response(&body).unwrap().1
}

fn bpf(c: u32, attr: Vec<u8>, buffers: Vec<Buffer>) -> Request {
    Request::Bpf { cmd: c, attr, buffers }
}

fn buffer(offset: u32, dir: Dir, data: &[u8], len: u32) -> Buffer {
    Buffer { parent: 0, offset, dir, len, data: data.to_vec() }
}

#[test]
fn the_agent_refuses_hostile_requests_and_keeps_serving() {
    let agent = AgentProcess::start("hostile");
    let mut s = UnixStream::connect(&agent.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let hello = exchange(&mut s, 1, &Request::Hello);
    assert_eq!((hello.id, hello.result), (1, remote::VERSION as i64));
    let cases: Vec<(Request, i32, &str)> = vec![
        // A command the agent does not carry.
        (bpf(cmd::BTF_LOAD, vec![0; 32], vec![]), libc::EINVAL, "not carried"),
        // A byte set past the fields the agent knows.
        (
            bpf(
                cmd::MAP_CREATE,
                {
                    let mut a = vec![0u8; 128];
                    a[100] = 1;
                    a
                },
                vec![],
            ),
            libc::E2BIG,
            "past the 80",
        ),
        // fd_array: a pointer the agent does not carry.
        (
            bpf(
                cmd::PROG_LOAD,
                {
                    let mut a = vec![0u8; 152];
                    a[120] = 0x10;
                    a
                },
                vec![],
            ),
            libc::EINVAL,
            "offset 120",
        ),
        // A buffer behind a field that is not a pointer (flags).
        (
            bpf(cmd::MAP_LOOKUP_ELEM, vec![0; 32], vec![buffer(24, Dir::In, &[0; 8], 8)]),
            libc::EINVAL,
            "not a pointer field",
        ),
        // A buffer going the wrong way.
        (
            bpf(cmd::OBJ_GET, vec![0; 20], vec![buffer(0, Dir::Out, &[], 16)]),
            libc::EINVAL,
            "wrong way",
        ),
        // A path without its NUL.
        (
            bpf(cmd::OBJ_GET, vec![0; 20], vec![buffer(0, Dir::In, b"/sys/fs/bpf/x", 13)]),
            libc::EINVAL,
            "no NUL",
        ),
        // A log shorter than log_size says.
        (
            bpf(
                cmd::PROG_LOAD,
                {
                    let mut a = vec![0u8; 152];
                    a[28..32].copy_from_slice(&4096u32.to_le_bytes());
                    a
                },
                vec![buffer(32, Dir::Out, &[], 16)],
            ),
            libc::EINVAL,
            "the kernel would use 4096",
        ),
        // Instructions shorter than insn_cnt says.
        (
            bpf(
                cmd::PROG_LOAD,
                {
                    let mut a = vec![0u8; 152];
                    a[4..8].copy_from_slice(&1000u32.to_le_bytes());
                    a
                },
                vec![buffer(8, Dir::In, &[0; 16], 16)],
            ),
            libc::EINVAL,
            "the kernel would use 8000",
        ),
        // An array inside an info structure of a descriptor it never gave.
        (
            bpf(
                cmd::OBJ_GET_INFO_BY_FD,
                {
                    let mut a = vec![0u8; 16];
                    a[4..8].copy_from_slice(&80u32.to_le_bytes());
                    a
                },
                vec![
                    buffer(8, Dir::InOut, &[0; 80], 80),
                    Buffer { parent: 1, offset: 56, dir: Dir::Out, len: 8, data: vec![] },
                ],
            ),
            libc::EINVAL,
            "map ids",
        ),
        // Closing what it did not open (its own socket, stdin).
        (Request::Close(0), libc::EBADF, "not one the agent opened"),
        (Request::Close(3), libc::EBADF, "not one the agent opened"),
        // Removing a file outside bpffs.
        (Request::Unlink(b"/etc/passwd".to_vec()), libc::EPERM, "only pins"),
        (Request::Unlink(b"/sys/fs/bpf/../../etc/x".to_vec()), libc::EPERM, "only pins"),
    ];
    for (i, (request, errno, reason)) in cases.iter().enumerate() {
        let id = 10 + i as u32;
        let r = exchange(&mut s, id, request);
        assert_eq!(r.id, id, "case {i}");
        assert_eq!((r.result, r.errno), (-1, *errno), "case {i}: {request:?}: {}", r.message);
        assert!(r.message.contains(reason), "case {i}: `{}` lacks `{reason}`", r.message);
    }
    // A malformed body gets an answer with its id; noise and a frame with
    // a bad checksum are skipped; the agent still answers.
    let mut body = remote::encode_request(77, &Request::Hello);
    body.push(0);
    s.write_all(&remote::frame(REQUEST_MAGIC, &body)).unwrap();
    let r = read_response(&mut s);
    assert_eq!((r.id, r.result, r.errno), (77, -1, libc::EINVAL), "{}", r.message);
    let mut bad = remote::frame(REQUEST_MAGIC, &remote::encode_request(78, &Request::Hello));
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    s.write_all(b"\x00garbage AXBQ\xff\xff\xff\xff").unwrap();
    s.write_all(&bad).unwrap();
    let r = exchange(&mut s, 79, &Request::Hello);
    assert_eq!((r.id, r.result), (79, remote::VERSION as i64));
    // Random bodies never bring it down.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..300u32 {
        let mut body = remote::encode_request(round, &Request::Hello);
        body.truncate(8);
        let extra = (seed % 200) as usize;
        for _ in 0..extra {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            body.push(seed as u8);
        }
        // Keep the version, vary the kind among the real ones.
        body[2] = [kind::BPF, kind::CLOSE, kind::UNLINK][round as usize % 3];
        s.write_all(&remote::frame(REQUEST_MAGIC, &body)).unwrap();
        let r = read_response(&mut s);
        assert_eq!(r.id, round);
    }
    let r = exchange(&mut s, 1000, &Request::Hello);
    assert_eq!(r.result, remote::VERSION as i64);
}

fn linux() -> bool {
    match axiom_tests::linux::available() {
        Ok(()) => true,
        Err(why) => {
            println!("remote loads skipped: host bpf() not usable: {why}");
            false
        }
    }
}

fn local(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_axbpf")).args(args).output().expect("axbpf runs")
}

#[test]
fn objects_load_run_and_pin_through_the_agent_as_they_do_locally() {
    if !linux() {
        return;
    }
    let agent = AgentProcess::start("loads");
    let objects = bpfprogs::build().unwrap();
    for obj in &objects {
        let o = obj.to_str().unwrap();
        let out = agent.axbpf(&["load", o, "--backend", "linux"]);
        let (so, se) = text(&out);
        assert!(out.status.success(), "remote load {o}: {so}\n{se}");
        assert!(so.contains("remote: loaded"), "{so}");
    }
    // Test runs give what the local kernel gives.
    let xdp = bpfprogs::build_one("bpf-progs/examples/xdp_proto.bpf.c").unwrap();
    let x = xdp.to_str().unwrap();
    let args = ["run", x, "--prog", "count_protocols", "--backend", "linux", "--json"];
    let (here, _) = text(&local(&args));
    let (there, se) = text(&agent.axbpf(&args));
    let retval =
        |s: &str| s.split("\"retval\":").nth(1).map(|r| r.split(',').next().map(str::to_owned));
    assert_eq!(retval(&here), retval(&there), "local {here} remote {there} {se}");
    // Pins, then the program shown through its pin's id, with its maps (an
    // array inside the info structure).
    if let Err(why) = axiom_tests::linux::bpffs() {
        println!("pins skipped: {why}");
        return;
    }
    let dir = format!("/sys/fs/bpf/axbpf-remote-{}", std::process::id());
    if std::fs::create_dir_all(&dir).is_err() {
        println!("pins skipped: cannot create {dir}");
        return;
    }
    let out = agent.axbpf(&["load", x, "--backend", "linux", "--pin", &dir]);
    let (so, se) = text(&out);
    assert!(out.status.success(), "{so}\n{se}");
    let id: String = so
        .split("program id ")
        .nth(1)
        .expect("a program id")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(Path::new(&dir).join("count_protocols").exists(), "{so}");
    let (here, _) = text(&local(&["prog", "show", &id]));
    let (there, se) = text(&agent.axbpf(&["prog", "show", &id]));
    assert_eq!(here, there, "{se}");
    assert!(there.contains("map_ids"), "{there}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refusal_comes_back_with_the_log_and_errno() {
    if !linux() {
        return;
    }
    let agent = AgentProcess::start("refusal");
    let bad = bpfprogs::build_one("tests/data/unsafe_lookup.bpf.c").unwrap();
    let out = agent.axbpf(&["load", bad.to_str().unwrap(), "--backend", "linux"]);
    let (_, se) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{se}");
    assert!(se.contains("the remote kernel refused it"), "{se}");
    assert!(se.contains("(errno "), "{se}");
    // The log: the kernel's verifier lines came back through the agent.
    assert!(se.contains("invalid mem access"), "{se}");
}

#[test]
fn without_an_agent_the_failure_is_clear() {
    let socket = std::env::temp_dir().join(format!("axbpf-none-{}.sock", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_axbpf"))
        .arg("--remote")
        .arg(&socket)
        .args(["prog", "list"])
        .output()
        .unwrap();
    let (_, se) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(se.contains("--remote") && !se.contains("panicked"), "{se}");
}
