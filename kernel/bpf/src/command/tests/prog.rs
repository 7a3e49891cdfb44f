//! Program loads and test runs.

use super::*;

#[test]
fn program_loads_are_checked_like_linux() {
    let reg = Registry::new();
    let mut f = Fake::new();
    // r0 = 7; exit
    let ok = [0xb7, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    // exit without setting r0: refused (EACCES), with a log.
    let bad = [0x95, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(load(&mut f, &reg, &[], 0), Err(Errno::E2BIG));
    assert_eq!(load(&mut f, &reg, &bad, 0), Err(Errno::EACCES));
    assert_eq!(load(&mut f, &reg, &bad, 4096), Err(Errno::EACCES));
    let log = f.get(BASE + 0x4000, 200);
    let text =
        String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap()]).into_owned();
    assert!(text.contains("R0 !read_ok"), "{text}");
    // A log too small for the refusal: ENOSPC.
    assert_eq!(load(&mut f, &reg, &bad, 8), Err(Errno::ENOSPC));
    #[cfg(feature = "host")]
    {
        let fd = load(&mut f, &reg, &ok, 0).unwrap();
        assert_eq!(reg.live_progs(), 1);
        // Test run on a 14-byte frame: retval 7.
        let mut t = [0u8; TestRunAttr::SIZE];
        TestRunAttr {
            prog_fd: fd as u32,
            data_size_in: 14,
            data_in: BASE + 0x2000,
            repeat: 3,
            ..Default::default()
        }
        .write_to(&mut t);
        f.put(BASE, &vec![0u8; 4096]);
        f.put(BASE, &t);
        assert_eq!(reg.call(&mut f, cmd::PROG_TEST_RUN, BASE, t.len() as u32), Ok(0));
        flush(&mut f);
        assert_eq!(u32::from_le_bytes(f.get(BASE + 4, 4).try_into().unwrap()), 7);
        f.fds.close_all();
        assert_eq!(reg.live_progs(), 0);
    }
    let _ = ok;
}
