//! Loading any bytes as a blob never panics; a blob that loads answers lookups without
//! panicking and round-trips. Half the inputs get a valid header and checksum prepended
//! by rewriting a real blob, so mutations reach past the checksum.
#![no_main]

use core::net::IpAddr;
use ipfence_core::matcher::Matcher;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((m, used)) = Matcher::from_bytes(data) {
        assert!(used <= data.len());
        for ip in ["3.5.140.2", "0.0.0.0", "255.255.255.255", "2600:1f14::1", "::", "ffff::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            let found = m.lookup(ip);
            assert_eq!(found.is_some(), m.contains(ip));
            if let Some(x) = found {
                assert!(x.prefix().contains(&ip));
                let _ = x.entries().count();
            }
            let _ = m.matches(ip).count();
        }
        let _ = m.to_ranges();
        let _ = m.sources();
    }
});
