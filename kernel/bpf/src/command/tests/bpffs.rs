//! The BPF file system.

use super::*;

#[test]
fn pins_live_in_the_bpf_file_system() {
    let reg = Registry::new();
    let mut f = Fake::new();
    let m = create(&mut f, &reg, mt::ARRAY, 4, 8, 2).unwrap();
    let pin = |f: &mut Fake, command: u32, path: &str, fd: u32| {
        let mut a = [0u8; ObjAttr::SIZE];
        f.put(BASE + 0x1000, path.as_bytes());
        f.put(BASE + 0x1000 + path.len() as u64, &[0]);
        ObjAttr { pathname: BASE + 0x1000, bpf_fd: fd, ..Default::default() }.write_to(&mut a);
        f.bpf(&reg, command, &a)
    };
    assert_eq!(reg.mkdir("/sys/fs/bpf/d"), Ok(()));
    assert_eq!(reg.mkdir("/sys/fs/bpf/d"), Err(Errno::EEXIST));
    assert_eq!(reg.mkdir("/tmp/d"), Err(Errno::EPERM));
    assert_eq!(pin(&mut f, cmd::OBJ_PIN, "/sys/fs/bpf/d/m", m as u32), Ok(0));
    assert_eq!(pin(&mut f, cmd::OBJ_PIN, "/sys/fs/bpf/d/m", m as u32), Err(Errno::EEXIST));
    assert_eq!(pin(&mut f, cmd::OBJ_PIN, "/sys/fs/bpf/x/m", m as u32), Err(Errno::ENOENT));
    assert_eq!(pin(&mut f, cmd::OBJ_PIN, "/sys/fs/bpf/d/../m", m as u32), Err(Errno::EINVAL));
    // The pin keeps the map alive after its descriptor closes.
    f.fds.close_all();
    assert_eq!(reg.live_maps(), 1);
    let again = pin(&mut f, cmd::OBJ_GET, "/sys/fs/bpf/d/m", 0).unwrap();
    assert!(again >= 3);
    assert_eq!(reg.unlink("/sys/fs/bpf/d", true), Err(Errno::ENOTEMPTY));
    assert_eq!(reg.unlink("/sys/fs/bpf/d/m", false), Ok(()));
    assert_eq!(pin(&mut f, cmd::OBJ_GET, "/sys/fs/bpf/d/m", 0), Err(Errno::ENOENT));
    assert_eq!(reg.unlink("/sys/fs/bpf/d", true), Ok(()));
    f.fds.close_all();
    assert_eq!((reg.live_maps(), reg.pinned()), (0, 0));
}
