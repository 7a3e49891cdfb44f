//! Links and attachments.

use super::*;

#[cfg(feature = "host")]
#[test]
fn links_own_hooks_and_replace_programs_atomically() {
    use hooks::{attach_type::AXIOM_TICK as TICK, prog_type::AXIOM_TICK as TICK_PROG};
    let reg = Registry::new();
    let mut f = Fake::new();
    let ret = |v: u8| [0xb7, 0, 0, 0, v, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    let a = load_type(&mut f, &reg, TICK_PROG, &ret(1), 0).unwrap() as u32;
    let b = load_type(&mut f, &reg, TICK_PROG, &ret(2), 0).unwrap() as u32;
    let s = load(&mut f, &reg, &ret(3), 0).unwrap() as u32;
    let run = || TEST_HOOK.dispatch(0, 0, || 0).map(|d| d.r0);
    let link = |f: &mut Fake, prog: u32, attach: u32| {
        let mut x = [0u8; LinkCreateAttr::SIZE];
        LinkCreateAttr { prog_fd: prog, attach_type: attach, ..Default::default() }
            .write_to(&mut x);
        f.bpf(&reg, cmd::LINK_CREATE, &x)
    };
    let update = |f: &mut Fake, l: u32, new: u32, flags: u32, old: u32| {
        let mut x = [0u8; LinkUpdateAttr::SIZE];
        LinkUpdateAttr { link_fd: l, new_prog_fd: new, flags, old_prog_fd: old }.write_to(&mut x);
        f.bpf(&reg, cmd::LINK_UPDATE, &x)
    };
    let attach = |f: &mut Fake, command: u32, prog: u32, flags: u32, replace: u32| {
        let mut x = [0u8; ProgAttachAttr::SIZE];
        ProgAttachAttr {
            attach_bpf_fd: prog,
            attach_type: TICK,
            attach_flags: flags,
            replace_bpf_fd: replace,
            ..Default::default()
        }
        .write_to(&mut x);
        f.bpf(&reg, command, &x)
    };
    assert_eq!(run(), None, "nothing attached");
    assert_eq!(link(&mut f, s, TICK), Err(Errno::EINVAL), "a socket filter");
    assert_eq!(link(&mut f, a, 999), Err(Errno::EINVAL), "no such hook");
    assert_eq!(link(&mut f, 99, TICK), Err(Errno::EBADF));
    let l = link(&mut f, a, TICK).unwrap() as u32;
    assert_eq!(run(), Some(1));
    assert_eq!(link(&mut f, b, TICK), Err(Errno::EBUSY), "a link holds the hook alone");
    assert_eq!(attach(&mut f, cmd::PROG_ATTACH, b, 0, 0), Err(Errno::EBUSY));
    assert_eq!(update(&mut f, l, b, 4, s), Err(Errno::EPERM), "wrong old program");
    assert_eq!(update(&mut f, l, s, 0, 0), Err(Errno::EINVAL), "wrong type");
    assert_eq!(update(&mut f, l, b, 4, a), Ok(0));
    assert_eq!(run(), Some(2), "replaced");
    assert_eq!(TEST_HOOK.attached().map(|(id, _)| id), Some(2));
    let mut x = [0u8; LinkDetachAttr::SIZE];
    LinkDetachAttr { link_fd: l }.write_to(&mut x);
    assert_eq!(f.bpf(&reg, cmd::LINK_DETACH, &x), Ok(0));
    assert_eq!(run(), None, "detached");
    assert_eq!(update(&mut f, l, a, 0, 0), Err(Errno::ENOLINK));
    assert_eq!(reg.live_links(), 1, "the descriptor still holds the link");
    let l2 = link(&mut f, a, TICK).unwrap() as u32;
    f.fds.close(l2).unwrap();
    assert_eq!(run(), None, "closing a link's last descriptor detaches it");
    f.fds.close(l).unwrap();
    assert_eq!(reg.live_links(), 0);
    // The older interface: attach replaces, detach removes.
    assert_eq!(attach(&mut f, cmd::PROG_ATTACH, a, 0, 0), Ok(0));
    assert_eq!(run(), Some(1));
    assert_eq!(attach(&mut f, cmd::PROG_ATTACH, b, 4, s), Err(Errno::ENOENT));
    assert_eq!(attach(&mut f, cmd::PROG_ATTACH, b, 4, a), Ok(0));
    assert_eq!(run(), Some(2));
    assert_eq!(link(&mut f, a, TICK), Err(Errno::EBUSY));
    assert_eq!(attach(&mut f, cmd::PROG_DETACH, a, 0, 0), Err(Errno::ENOENT), "not a's");
    assert_eq!(attach(&mut f, cmd::PROG_DETACH, 0, 0, 0), Ok(0));
    assert_eq!(attach(&mut f, cmd::PROG_DETACH, 0, 0, 0), Err(Errno::ENOENT));
    assert_eq!(run(), None);
    assert_eq!(TEST_HOOK.runs(), 4);
}
