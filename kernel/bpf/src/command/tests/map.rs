//! The map commands: elements, freezing, ids and info.

use super::*;

#[test]
fn map_commands_have_linux_semantics() {
    let reg = Registry::new();
    let mut f = Fake::new();
    let arr = create(&mut f, &reg, mt::ARRAY, 4, 8, 2).unwrap();
    let k1 = 1u32.to_le_bytes();
    assert_eq!(elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, arr, &k1, &7u64.to_le_bytes(), 0), Ok(0));
    assert_eq!(elem(&mut f, &reg, cmd::MAP_LOOKUP_ELEM, arr, &k1, &[0; 8], 0), Ok(0));
    assert_eq!(f.get(BASE + 0x2000, 8), 7u64.to_le_bytes());
    assert_eq!(
        elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, arr, &5u32.to_le_bytes(), &[0; 8], 0),
        Err(Errno::E2BIG)
    );
    assert_eq!(elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, arr, &k1, &[0; 8], 1), Err(Errno::EEXIST));
    assert_eq!(elem(&mut f, &reg, cmd::MAP_DELETE_ELEM, arr, &k1, &[], 0), Err(Errno::EINVAL));
    // Next key: 0, then 1, then the end.
    assert_eq!(elem(&mut f, &reg, cmd::MAP_GET_NEXT_KEY, arr, &[], &[0; 4], 0), Ok(0));
    assert_eq!(f.get(BASE + 0x2000, 4), 0u32.to_le_bytes());
    assert_eq!(elem(&mut f, &reg, cmd::MAP_GET_NEXT_KEY, arr, &k1, &[0; 4], 0), Err(Errno::ENOENT));

    let hash = create(&mut f, &reg, mt::HASH, 4, 4, 2).unwrap();
    for k in [1u32, 2] {
        assert_eq!(
            elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, hash, &k.to_le_bytes(), &k.to_le_bytes(), 1),
            Ok(0)
        );
    }
    // Full.
    assert_eq!(
        elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, hash, &3u32.to_le_bytes(), &[0; 4], 0),
        Err(Errno::E2BIG)
    );
    assert_eq!(
        elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, hash, &9u32.to_le_bytes(), &[0; 4], 2),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        elem(&mut f, &reg, cmd::MAP_LOOKUP_AND_DELETE_ELEM, hash, &2u32.to_le_bytes(), &[0; 4], 0),
        Ok(0)
    );
    assert_eq!(f.get(BASE + 0x2000, 4), 2u32.to_le_bytes());
    assert_eq!(
        elem(&mut f, &reg, cmd::MAP_DELETE_ELEM, hash, &2u32.to_le_bytes(), &[], 0),
        Err(Errno::ENOENT)
    );
    // Bad descriptors: not open (EBADF), not a BPF object (EINVAL).
    assert_eq!(elem(&mut f, &reg, cmd::MAP_LOOKUP_ELEM, 77, &k1, &[0; 4], 0), Err(Errno::EBADF));
    assert_eq!(elem(&mut f, &reg, cmd::MAP_LOOKUP_ELEM, 1, &k1, &[0; 4], 0), Err(Errno::EINVAL));
    // Frozen: no more updates from user space.
    let mut a = [0u8; 4];
    a.copy_from_slice(&(hash as u32).to_le_bytes());
    assert_eq!(f.bpf(&reg, cmd::MAP_FREEZE, &a), Ok(0));
    assert_eq!(f.bpf(&reg, cmd::MAP_FREEZE, &a), Err(Errno::EPERM));
    assert_eq!(
        elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, hash, &1u32.to_le_bytes(), &[0; 4], 0),
        Err(Errno::EPERM)
    );
    // Bad shapes and flags.
    assert_eq!(create(&mut f, &reg, mt::ARRAY, 8, 8, 2), Err(Errno::EINVAL));
    assert_eq!(create(&mut f, &reg, 999, 4, 4, 2), Err(Errno::EINVAL));
    assert_eq!(create(&mut f, &reg, mt::ARRAY, 4, 1 << 20, 1 << 12), Err(Errno::ENOMEM));
}

#[test]
fn ids_info_and_lifetimes() {
    let reg = Registry::new();
    let mut f = Fake::new();
    let a = create(&mut f, &reg, mt::ARRAY, 4, 8, 2).unwrap();
    let b = create(&mut f, &reg, mt::HASH, 4, 8, 2).unwrap();
    assert_eq!(reg.live_maps(), 2);
    // Next id from 0 finds the first; by id gives a new descriptor.
    let mut g = [0u8; 8];
    assert_eq!(f.bpf(&reg, cmd::MAP_GET_NEXT_ID, &g), Ok(0));
    flush(&mut f);
    let first = u32::from_le_bytes(f.get(BASE + 4, 4).try_into().unwrap());
    g[..4].copy_from_slice(&first.to_le_bytes());
    let mut by_id = [0u8; GetIdAttr::SIZE];
    by_id[..4].copy_from_slice(&first.to_le_bytes());
    let c = f.bpf(&reg, cmd::MAP_GET_FD_BY_ID, &by_id).unwrap();
    assert!(c > b);
    // Info: the map's shape, id and the length written.
    let mut i = [0u8; InfoAttr::SIZE];
    InfoAttr { bpf_fd: a as u32, info_len: 200, info: BASE + 0x3000 }.write_to(&mut i);
    assert_eq!(f.bpf(&reg, cmd::OBJ_GET_INFO_BY_FD, &i), Ok(0));
    flush(&mut f);
    let info = MapInfo::from_bytes(&f.get(BASE + 0x3000, MapInfo::SIZE));
    assert_eq!((info.type_, info.id, info.key_size, info.value_size), (mt::ARRAY, first, 4, 8));
    assert_eq!(u32::from_le_bytes(f.get(BASE + 4, 4).try_into().unwrap()) as usize, MapInfo::SIZE);
    // Closing every descriptor frees the maps.
    f.fds.close_all();
    assert_eq!(reg.live_maps(), 0);
    assert_eq!(f.bpf(&reg, cmd::MAP_GET_FD_BY_ID, &by_id), Err(Errno::ENOENT));
}
