//! parse -> compile -> blob -> load gives the same answers as a brute-force scan of the
//! parsed entries, for every address the input names and its neighbours.
#![no_main]

use core::net::IpAddr;
use ipfence_core::matcher::Matcher;
use ipfence_core::source::{text, Options};
use ipfence_core::IpNet;
use libfuzzer_sys::fuzz_target;

fn neighbours(net: &IpNet) -> Vec<IpAddr> {
    let mut v = vec![net.network(), net.broadcast()];
    match (net.network(), net.broadcast()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            v.push(IpAddr::V4(u32::from(a).wrapping_sub(1).into()));
            v.push(IpAddr::V4(u32::from(b).wrapping_add(1).into()));
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            v.push(IpAddr::V6(u128::from(a).wrapping_sub(1).into()));
            v.push(IpAddr::V6(u128::from(b).wrapping_add(1).into()));
        }
        _ => {}
    }
    v
}

fuzz_target!(|data: &[u8]| {
    let Ok(r) = text::parse(data, "fuzz", Options { host_bits: ipfence_core::prefix::HostBits::Mask, ..Options::default() }) else { return };
    let Ok(built) = Matcher::build(&r) else { return };
    let bytes = built.to_bytes();
    let (m, _) = Matcher::from_bytes(&bytes).expect("a blob we wrote loads");
    for e in &r.entries {
        for ip in neighbours(&e.prefix) {
            // IPv4-mapped IPv6 addresses are looked up as IPv4: use the same rule here.
            let key = ipfence_core::prefix::canonical(ip);
            let want = r.entries.iter().map(|e| e.prefix).filter(|p| p.contains(&key)).max_by_key(|p| p.prefix_len());
            assert_eq!(m.lookup(ip).map(|x| x.prefix()), want, "{ip}");
        }
    }
});
