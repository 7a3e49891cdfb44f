//! A kernel's objects by id, pinning and Axiom's hooks: `prog show`, the
//! `map` verbs, `load --pin`, `load --attach`, `detach`; through any
//! transport (this machine's `bpf()` or a remote agent).

use crate::failure::Failure;
use crate::transport::{Buf, CallError, Kernel};
use axiom_abi::remote::Dir;
use axiom_abi::uapi::attr::{
    GetIdAttr, InfoAttr, LinkCreateAttr, LinkDetachAttr, LinkUpdateAttr, MapElemAttr, MapInfo,
    ObjAttr, ProgInfo,
};
use axiom_abi::uapi::types::cmd;
use std::path::Path;

fn fail(message: String) -> Failure {
    Failure { message, log: String::new() }
}

fn errno(what: &str, e: CallError) -> Failure {
    fail(format!("{what}: {e}"))
}

/// Parses hex bytes, spaces allowed (`01 00 00 00`).
pub fn hex(text: &str) -> Result<Vec<u8>, Failure> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = digits.trim_start_matches("0x");
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return Err(fail(format!("`{text}`: expected an even number of hex digits")));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| fail(format!("`{text}`: not hex")))
        })
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

fn json_bytes(b: &[u8]) -> String {
    format!("[{}]", b.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(","))
}

fn fd_by_id(k: &mut Kernel, cmd_fd: u32, id: u32, what: &str) -> Result<i32, Failure> {
    let mut buf = [0u8; 128];
    GetIdAttr { start_id: id, ..GetIdAttr::default() }.write_to(&mut buf);
    k.call_fd(cmd_fd, &mut buf, &mut []).map_err(|e| errno(&format!("{what} {id}"), e))
}

fn info(k: &mut Kernel, fd: i32, len: usize) -> Result<Vec<u8>, Failure> {
    let mut buf = [0u8; 128];
    InfoAttr { bpf_fd: fd as u32, info_len: len as u32, info: 0 }.write_to(&mut buf);
    let mut bufs = [Buf { parent: 0, offset: 8, dir: Dir::InOut, data: vec![0u8; len] }];
    k.call(cmd::OBJ_GET_INFO_BY_FD, &mut buf, &mut bufs).map_err(|e| errno("object info", e))?;
    let [b] = bufs;
    Ok(b.data)
}

fn map(k: &mut Kernel, id: u32) -> Result<(i32, MapInfo), Failure> {
    let fd = fd_by_id(k, cmd::MAP_GET_FD_BY_ID, id, "map")?;
    let m = map_info(k, fd)?;
    Ok((fd, m))
}

/// The info of the map behind `fd`.
pub fn map_info(k: &mut Kernel, fd: i32) -> Result<MapInfo, Failure> {
    Ok(MapInfo::from_bytes(&info(k, fd, MapInfo::SIZE)?))
}

fn elem(fd: i32, flags: u64) -> [u8; 128] {
    let mut buf = [0u8; 128];
    MapElemAttr { map_fd: fd as u32, key: 0, value: 0, flags }.write_to(&mut buf);
    buf
}

fn check_key(m: &MapInfo, key: &[u8]) -> Result<(), Failure> {
    if key.len() != m.key_size as usize {
        return Err(fail(format!(
            "the key has {} bytes, the map's keys {}",
            key.len(),
            m.key_size
        )));
    }
    Ok(())
}

/// `prog show ID`.
pub fn prog_show(k: &mut Kernel, id: u32, json: bool) -> Result<(), Failure> {
    let fd = fd_by_id(k, cmd::PROG_GET_FD_BY_ID, id, "program")?;
    let p = ProgInfo::from_bytes(&info(k, fd, ProgInfo::SIZE)?);
    // The maps it uses: a second call with room for their ids (the
    // `map_ids` array inside the info structure).
    let mut map_ids = Vec::new();
    if p.nr_map_ids > 0 {
        let (count_at, array_at) = axiom_abi::remote::PROG_INFO_MAP_IDS;
        let mut ask = vec![0u8; ProgInfo::SIZE];
        ask[count_at..count_at + 4].copy_from_slice(&p.nr_map_ids.to_ne_bytes());
        let mut buf = [0u8; 128];
        InfoAttr { bpf_fd: fd as u32, info_len: ask.len() as u32, info: 0 }.write_to(&mut buf);
        let mut bufs = [
            Buf { parent: 0, offset: 8, dir: Dir::InOut, data: ask },
            Buf {
                parent: 1,
                offset: array_at as u32,
                dir: Dir::Out,
                data: vec![0u8; p.nr_map_ids as usize * 4],
            },
        ];
        k.call(cmd::OBJ_GET_INFO_BY_FD, &mut buf, &mut bufs)
            .map_err(|e| errno("object info", e))?;
        let again = ProgInfo::from_bytes(&bufs[0].data);
        map_ids = bufs[1]
            .data
            .chunks_exact(4)
            .take(again.nr_map_ids as usize)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
    }
    let ids: Vec<String> = map_ids.iter().map(u32::to_string).collect();
    let name = String::from_utf8_lossy(&p.name).trim_end_matches('\0').to_string();
    let tag: String = p.tag.iter().map(|b| format!("{b:02x}")).collect();
    if json {
        println!(
            "{{\"id\":{},\"type\":{},\"name\":\"{name}\",\"tag\":\"{tag}\",\"xlated_bytes\":{},\"jited_bytes\":{},\"map_ids\":[{}]}}",
            p.id,
            p.type_,
            p.xlated_prog_len,
            p.jited_prog_len,
            ids.join(",")
        );
    } else {
        println!(
            "{}: type {} name {name} tag {tag}\n    xlated {}B jited {}B{}",
            p.id,
            p.type_,
            p.xlated_prog_len,
            p.jited_prog_len,
            if ids.is_empty() { String::new() } else { format!(" map_ids {}", ids.join(",")) }
        );
    }
    Ok(())
}

/// The kernel's id of the program behind `fd`.
pub fn prog_id(k: &mut Kernel, fd: i32) -> Result<u32, Failure> {
    Ok(ProgInfo::from_bytes(&info(k, fd, ProgInfo::SIZE)?).id)
}

/// `map dump ID`: every key and value.
pub fn map_dump(k: &mut Kernel, id: u32, json: bool) -> Result<(), Failure> {
    let (fd, m) = map(k, id)?;
    let mut entries = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    loop {
        let mut buf = elem(fd, 0);
        let mut bufs = vec![Buf::output(16, m.key_size as usize)];
        if let Some(cur) = &key {
            bufs.insert(0, Buf::input(8, cur));
        }
        match k.call(cmd::MAP_GET_NEXT_KEY, &mut buf, &mut bufs) {
            Ok(_) => {}
            Err(e) if e.errno == libc::ENOENT => break,
            Err(e) => return Err(errno("next key", e)),
        }
        let next = bufs.pop().map(|b| b.data).unwrap_or_default();
        let mut buf = elem(fd, 0);
        let mut bufs = [Buf::input(8, &next), Buf::output(16, value_len(&m))];
        // An entry deleted meanwhile is skipped.
        if k.call(cmd::MAP_LOOKUP_ELEM, &mut buf, &mut bufs).is_ok() {
            let [_, value] = bufs;
            entries.push((next.clone(), value.data));
        }
        key = Some(next);
    }
    if json {
        let items: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("{{\"key\":{},\"value\":{}}}", json_bytes(k), json_bytes(v)))
            .collect();
        println!("[{}]", items.join(","));
    } else {
        for (k, v) in &entries {
            println!("key: {}  value: {}", to_hex(k), to_hex(v));
        }
        println!("Found {} elements", entries.len());
    }
    Ok(())
}

/// The possible CPUs, from Linux's list in
/// `/sys/devices/system/cpu/possible` (`0-3`, `0`, `0-1,4-5`).
fn possible_cpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|s| {
            s.trim()
                .split(',')
                .map(|r| match r.split_once('-') {
                    Some((a, b)) => Some(b.parse::<usize>().ok()? + 1 - a.parse::<usize>().ok()?),
                    None => r.parse::<usize>().ok().map(|_| 1),
                })
                .sum::<Option<usize>>()
        })
        .unwrap_or(1)
}

/// The bytes a lookup of the map returns (per-CPU maps: a value per
/// possible CPU, each rounded up to 8 bytes).
pub fn value_len(m: &MapInfo) -> usize {
    use axiom_abi::uapi::types::map_type;
    let per_cpu = matches!(
        m.type_,
        map_type::PERCPU_HASH | map_type::PERCPU_ARRAY | map_type::LRU_PERCPU_HASH
    );
    if per_cpu {
        (m.value_size as usize).next_multiple_of(8) * possible_cpus()
    } else {
        m.value_size as usize
    }
}

/// `map lookup ID --key K`.
pub fn map_lookup(k: &mut Kernel, id: u32, key: &[u8], json: bool) -> Result<(), Failure> {
    let (fd, m) = map(k, id)?;
    check_key(&m, key)?;
    let mut buf = elem(fd, 0);
    let mut bufs = [Buf::input(8, key), Buf::output(16, value_len(&m))];
    k.call(cmd::MAP_LOOKUP_ELEM, &mut buf, &mut bufs).map_err(|e| errno("lookup", e))?;
    let value = &bufs[1].data;
    if json {
        println!("{{\"key\":{},\"value\":{}}}", json_bytes(key), json_bytes(value));
    } else {
        println!("key: {}  value: {}", to_hex(key), to_hex(value));
    }
    Ok(())
}

/// `map update ID --key K --value V`.
pub fn map_update(
    k: &mut Kernel,
    id: u32,
    key: &[u8],
    value: &[u8],
    flags: u64,
) -> Result<(), Failure> {
    let (fd, m) = map(k, id)?;
    check_key(&m, key)?;
    if value.len() != m.value_size as usize {
        return Err(fail(format!(
            "the value has {} bytes, the map's values {}",
            value.len(),
            m.value_size
        )));
    }
    let mut buf = elem(fd, flags);
    k.call(cmd::MAP_UPDATE_ELEM, &mut buf, &mut [Buf::input(8, key), Buf::input(16, value)])
        .map_err(|e| errno("update", e))?;
    Ok(())
}

/// `map delete ID --key K`.
pub fn map_delete(k: &mut Kernel, id: u32, key: &[u8]) -> Result<(), Failure> {
    let (fd, m) = map(k, id)?;
    check_key(&m, key)?;
    let mut buf = elem(fd, 0);
    k.call(cmd::MAP_DELETE_ELEM, &mut buf, &mut [Buf::input(8, key)])
        .map_err(|e| errno("delete", e))?;
    Ok(())
}

/// Pins an object at `path` (a bpffs path; on this machine its directory
/// is created).
pub fn pin(k: &mut Kernel, fd: i32, path: &Path) -> Result<(), Failure> {
    if k.is_local()
        && let Some(dir) = path.parent()
    {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    }
    let c = c_path(path)?;
    let mut buf = [0u8; 128];
    ObjAttr { bpf_fd: fd as u32, ..ObjAttr::default() }.write_to(&mut buf);
    k.call(cmd::OBJ_PIN, &mut buf, &mut [Buf::input(0, c.as_bytes_with_nul())])
        .map_err(|e| errno(&format!("pin {}", path.display()), e))?;
    Ok(())
}

/// One of Axiom's hooks, as `--attach` names it: its program and attach
/// types, its target, and where its link is pinned.
pub struct Hook {
    /// The name given (`sched`, `tick`).
    pub name: String,
    /// The program type its programs have.
    pub prog_type: u32,
    attach_type: u32,
    target: u32,
}

impl Hook {
    /// Parses `sched`, `tick`, `irq:LINE`, `iio:DEVICE`.
    pub fn parse(name: &str) -> Result<Hook, Failure> {
        use axiom_abi::hooks::{attach_type, prog_type};
        let (prog_type, attach_type, target) = match name {
            "sched" => (prog_type::AXIOM_SCHED, attach_type::AXIOM_SCHED, 0),
            "tick" => (prog_type::AXIOM_TICK, attach_type::AXIOM_TICK, 0),
            n if n.starts_with("irq:") => {
                let line = n[4..].parse::<u32>().map_err(|_| {
                    fail(format!("--attach {n}: expected irq:LINE, a number (irq:8)"))
                })?;
                (prog_type::AXIOM_IRQ, attach_type::AXIOM_IRQ, line)
            }
            n if n.starts_with("iio:") => {
                let device = n[4..].parse::<u32>().map_err(|_| {
                    fail(format!("--attach {n}: expected iio:DEVICE, a number (iio:0)"))
                })?;
                (prog_type::AXIOM_IIO, attach_type::AXIOM_IIO, device)
            }
            n => {
                return Err(fail(format!(
                    "--attach {n}: no such hook (sched, tick, irq:LINE, iio:DEVICE)"
                )));
            }
        };
        Ok(Hook { name: name.into(), prog_type, attach_type, target })
    }

    /// Where the hook's link is pinned: `/sys/fs/bpf/axiom/<hook>` (`irq:8`
    /// as `irq-8`).
    pub fn pin_path(&self) -> std::path::PathBuf {
        Path::new("/sys/fs/bpf/axiom").join(self.name.replace(':', "-"))
    }
}

fn c_path(path: &Path) -> Result<std::ffi::CString, Failure> {
    std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| fail(format!("{}: a NUL in the path", path.display())))
}

/// The object pinned at `path`, if any.
pub fn pinned(k: &mut Kernel, path: &Path) -> Result<Option<i32>, Failure> {
    let c = c_path(path)?;
    let mut buf = [0u8; 128];
    ObjAttr::default().write_to(&mut buf);
    match k.call_fd(cmd::OBJ_GET, &mut buf, &mut [Buf::input(0, c.as_bytes_with_nul())]) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.errno == libc::ENOENT => Ok(None),
        Err(e) => Err(errno(&format!("{}", path.display()), e)),
    }
}

/// Attaches `prog` to `hook`: replaces the program of the hook's pinned
/// link in one step (`BPF_LINK_UPDATE`), or makes the link and pins it.
/// Returns what happened, for the user.
pub fn attach(k: &mut Kernel, prog: i32, hook: &Hook) -> Result<String, Failure> {
    let path = hook.pin_path();
    let mut buf = [0u8; 128];
    if let Some(link) = pinned(k, &path)? {
        LinkUpdateAttr { link_fd: link as u32, new_prog_fd: prog as u32, ..Default::default() }
            .write_to(&mut buf);
        k.call(cmd::LINK_UPDATE, &mut buf, &mut [])
            .map_err(|e| errno(&format!("replace the program on {}", hook.name), e))?;
        return Ok(format!(
            "replaced the program on {} (link {}, program id {})",
            hook.name,
            path.display(),
            prog_id(k, prog)?
        ));
    }
    LinkCreateAttr {
        prog_fd: prog as u32,
        target_fd: hook.target,
        attach_type: hook.attach_type,
        ..Default::default()
    }
    .write_to(&mut buf);
    let link = k
        .call_fd(cmd::LINK_CREATE, &mut buf, &mut [])
        .map_err(|e| errno(&format!("attach to {}", hook.name), e))?;
    pin(k, link, &path)?;
    Ok(format!(
        "attached to {} (link pinned at {}, program id {})",
        hook.name,
        path.display(),
        prog_id(k, prog)?
    ))
}

/// Detaches what `--attach` attached to `hook` and removes its pin.
pub fn detach(k: &mut Kernel, hook: &Hook) -> Result<(), Failure> {
    let path = hook.pin_path();
    let link = pinned(k, &path)?.ok_or_else(|| fail(format!("{}: nothing attached", hook.name)))?;
    let mut buf = [0u8; 128];
    LinkDetachAttr { link_fd: link as u32 }.write_to(&mut buf);
    k.call(cmd::LINK_DETACH, &mut buf, &mut []).map_err(|e| errno("detach", e))?;
    k.unlink(&path).map_err(|e| errno(&format!("{}", path.display()), e))?;
    Ok(())
}
