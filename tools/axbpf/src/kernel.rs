//! The host kernel's objects by id, and pinning: `prog show`, the `map`
//! verbs, `load --pin`.

use crate::backend::Failure;
use crate::sys;
use axiom_abi::uapi::attr::{
    GetIdAttr, InfoAttr, LinkCreateAttr, LinkDetachAttr, LinkUpdateAttr, MapElemAttr, MapInfo,
    ObjAttr, ProgInfo,
};
use axiom_abi::uapi::types::cmd;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

fn fail(message: String) -> Failure {
    Failure { message, log: String::new() }
}

fn errno(what: &str, e: i32) -> Failure {
    fail(format!("{what}: {} (errno {e})", std::io::Error::from_raw_os_error(e)))
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

fn fd_by_id(cmd_fd: u32, id: u32, what: &str) -> Result<OwnedFd, Failure> {
    let mut buf = [0u8; 128];
    GetIdAttr { start_id: id, ..GetIdAttr::default() }.write_to(&mut buf);
    sys::bpf_fd(cmd_fd, &mut buf).map_err(|e| errno(&format!("{what} {id}"), e))
}

fn info(fd: &OwnedFd, len: usize) -> Result<Vec<u8>, Failure> {
    info_into(fd, vec![0u8; len])
}

/// `OBJ_GET_INFO_BY_FD` into `info`, whose fields may already ask for
/// arrays (their counts and buffers filled in by the caller).
fn info_into(fd: &OwnedFd, mut info: Vec<u8>) -> Result<Vec<u8>, Failure> {
    let len = info.len();
    let mut buf = [0u8; 128];
    InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: len as u32,
        info: info.as_mut_ptr() as u64,
    }
    .write_to(&mut buf);
    sys::bpf(cmd::OBJ_GET_INFO_BY_FD, &mut buf).map_err(|e| errno("object info", e))?;
    Ok(info)
}

fn map(id: u32) -> Result<(OwnedFd, MapInfo), Failure> {
    let fd = fd_by_id(cmd::MAP_GET_FD_BY_ID, id, "map")?;
    let m = map_info(&fd)?;
    Ok((fd, m))
}

/// The info of the map behind `fd`.
pub fn map_info(fd: &OwnedFd) -> Result<MapInfo, Failure> {
    Ok(MapInfo::from_bytes(&info(fd, MapInfo::SIZE)?))
}

fn elem(fd: &OwnedFd, key: &[u8], value: u64, flags: u64) -> [u8; 128] {
    let mut buf = [0u8; 128];
    MapElemAttr { map_fd: fd.as_raw_fd() as u32, key: key.as_ptr() as u64, value, flags }
        .write_to(&mut buf);
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
pub fn prog_show(id: u32, json: bool) -> Result<(), Failure> {
    let fd = fd_by_id(cmd::PROG_GET_FD_BY_ID, id, "program")?;
    let p = ProgInfo::from_bytes(&info(&fd, ProgInfo::SIZE)?);
    // The maps it uses: a second call with room for their ids
    // (`nr_map_ids` at offset 52, the `map_ids` buffer at 56).
    let mut map_ids = vec![0u32; p.nr_map_ids as usize];
    if !map_ids.is_empty() {
        let mut ask = vec![0u8; ProgInfo::SIZE];
        ask[52..56].copy_from_slice(&(map_ids.len() as u32).to_ne_bytes());
        ask[56..64].copy_from_slice(&(map_ids.as_mut_ptr() as u64).to_ne_bytes());
        let again = ProgInfo::from_bytes(&info_into(&fd, ask)?);
        map_ids.truncate(again.nr_map_ids as usize);
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
pub fn prog_id(fd: &OwnedFd) -> Result<u32, Failure> {
    Ok(ProgInfo::from_bytes(&info(fd, ProgInfo::SIZE)?).id)
}

/// `map dump ID`: every key and value.
pub fn map_dump(id: u32, json: bool) -> Result<(), Failure> {
    let (fd, m) = map(id)?;
    let mut entries = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    loop {
        let mut next = vec![0u8; m.key_size as usize];
        let cur = key.as_deref().map_or(0, |k| k.as_ptr() as u64);
        let mut buf = [0u8; 128];
        MapElemAttr {
            map_fd: fd.as_raw_fd() as u32,
            key: cur,
            value: next.as_mut_ptr() as u64,
            flags: 0,
        }
        .write_to(&mut buf);
        match sys::bpf(cmd::MAP_GET_NEXT_KEY, &mut buf) {
            Ok(_) => {}
            Err(libc::ENOENT) => break,
            Err(e) => return Err(errno("next key", e)),
        }
        let mut value = vec![0u8; m.value_size as usize];
        let mut buf = elem(&fd, &next, value.as_mut_ptr() as u64, 0);
        // An entry deleted meanwhile is skipped.
        if sys::bpf(cmd::MAP_LOOKUP_ELEM, &mut buf).is_ok() {
            entries.push((next.clone(), value));
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

/// `map lookup ID --key K`.
pub fn map_lookup(id: u32, key: &[u8], json: bool) -> Result<(), Failure> {
    let (fd, m) = map(id)?;
    check_key(&m, key)?;
    let mut value = vec![0u8; m.value_size as usize];
    let mut buf = elem(&fd, key, value.as_mut_ptr() as u64, 0);
    sys::bpf(cmd::MAP_LOOKUP_ELEM, &mut buf).map_err(|e| errno("lookup", e))?;
    if json {
        println!("{{\"key\":{},\"value\":{}}}", json_bytes(key), json_bytes(&value));
    } else {
        println!("key: {}  value: {}", to_hex(key), to_hex(&value));
    }
    Ok(())
}

/// `map update ID --key K --value V`.
pub fn map_update(id: u32, key: &[u8], value: &[u8], flags: u64) -> Result<(), Failure> {
    let (fd, m) = map(id)?;
    check_key(&m, key)?;
    if value.len() != m.value_size as usize {
        return Err(fail(format!(
            "the value has {} bytes, the map's values {}",
            value.len(),
            m.value_size
        )));
    }
    let mut buf = elem(&fd, key, value.as_ptr() as u64, flags);
    sys::bpf(cmd::MAP_UPDATE_ELEM, &mut buf).map_err(|e| errno("update", e))?;
    Ok(())
}

/// `map delete ID --key K`.
pub fn map_delete(id: u32, key: &[u8]) -> Result<(), Failure> {
    let (fd, m) = map(id)?;
    check_key(&m, key)?;
    let mut buf = elem(&fd, key, 0, 0);
    sys::bpf(cmd::MAP_DELETE_ELEM, &mut buf).map_err(|e| errno("delete", e))?;
    Ok(())
}

/// Pins an object at `path` (a bpffs path; its directory is created).
pub fn pin(fd: &OwnedFd, path: &Path) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
    }
    let c = c_path(path)?;
    let mut buf = [0u8; 128];
    ObjAttr { pathname: c.as_ptr() as u64, bpf_fd: fd.as_raw_fd() as u32, ..ObjAttr::default() }
        .write_to(&mut buf);
    sys::bpf(cmd::OBJ_PIN, &mut buf).map_err(|e| errno(&format!("pin {}", path.display()), e))?;
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
    /// Parses `sched`, `tick` (the hooks that exist), or says what is not
    /// there yet (`irq:N`, `iio:DEV`).
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
                return Err(fail(format!(
                    "--attach {n}: the IIO hook is not in the kernel yet (sched, tick and irq:N are)"
                )));
            }
            n => return Err(fail(format!("--attach {n}: no such hook (sched, tick, irq:LINE)"))),
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
fn pinned(path: &Path) -> Result<Option<OwnedFd>, Failure> {
    let c = c_path(path)?;
    let mut buf = [0u8; 128];
    ObjAttr { pathname: c.as_ptr() as u64, ..ObjAttr::default() }.write_to(&mut buf);
    match sys::bpf_fd(cmd::OBJ_GET, &mut buf) {
        Ok(fd) => Ok(Some(fd)),
        Err(libc::ENOENT) => Ok(None),
        Err(e) => Err(errno(&format!("{}", path.display()), e)),
    }
}

/// Attaches `prog` to `hook`: replaces the program of the hook's pinned
/// link in one step (`BPF_LINK_UPDATE`), or makes the link and pins it.
/// Returns what happened, for the user.
pub fn attach(prog: &OwnedFd, hook: &Hook) -> Result<String, Failure> {
    let path = hook.pin_path();
    let prog_fd = prog.as_raw_fd() as u32;
    let mut buf = [0u8; 128];
    if let Some(link) = pinned(&path)? {
        LinkUpdateAttr {
            link_fd: link.as_raw_fd() as u32,
            new_prog_fd: prog_fd,
            ..Default::default()
        }
        .write_to(&mut buf);
        sys::bpf(cmd::LINK_UPDATE, &mut buf)
            .map_err(|e| errno(&format!("replace the program on {}", hook.name), e))?;
        return Ok(format!(
            "replaced the program on {} (link {}, program id {})",
            hook.name,
            path.display(),
            prog_id(prog)?
        ));
    }
    LinkCreateAttr {
        prog_fd,
        target_fd: hook.target,
        attach_type: hook.attach_type,
        ..Default::default()
    }
    .write_to(&mut buf);
    let link = sys::bpf_fd(cmd::LINK_CREATE, &mut buf)
        .map_err(|e| errno(&format!("attach to {}", hook.name), e))?;
    pin(&link, &path)?;
    Ok(format!(
        "attached to {} (link pinned at {}, program id {})",
        hook.name,
        path.display(),
        prog_id(prog)?
    ))
}

/// Detaches what `--attach` attached to `hook` and removes its pin.
pub fn detach(hook: &Hook) -> Result<(), Failure> {
    let path = hook.pin_path();
    let link = pinned(&path)?.ok_or_else(|| fail(format!("{}: nothing attached", hook.name)))?;
    let mut buf = [0u8; 128];
    LinkDetachAttr { link_fd: link.as_raw_fd() as u32 }.write_to(&mut buf);
    sys::bpf(cmd::LINK_DETACH, &mut buf).map_err(|e| errno("detach", e))?;
    std::fs::remove_file(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    Ok(())
}
