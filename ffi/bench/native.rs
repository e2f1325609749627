//! Native Rust lookups, measured exactly as `bench/bench.c` measures them through the C
//! API: same AWS file, same address files, same loops, best of several runs.
//!
//! usage: native_lookup AWS_JSON V4_ADDRS V6_ADDRS
//! (run by scripts/bench-ffi, which prints both programs' figures side by side)

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use ipfence_core::matcher::Matcher;

const RUNS: usize = 7;
const TARGET_LOOKUPS: usize = 4_000_000;

fn read_addrs(path: &str) -> Vec<IpAddr> {
    std::fs::read_to_string(path)
        .expect("address file")
        .lines()
        .map(|l| l.parse().expect("an address"))
        .collect()
}

/// Best (lowest) nanoseconds per lookup over `RUNS` runs of `reps` passes.
fn best(n: usize, mut pass: impl FnMut() -> u64) -> f64 {
    let reps = (TARGET_LOOKUPS / n).max(1);
    let mut sink = 0u64;
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let t = Instant::now();
        for _ in 0..reps {
            sink = sink.wrapping_add(pass());
        }
        let ns = t.elapsed().as_nanos() as f64 / (reps * n) as f64;
        best = best.min(ns);
    }
    black_box(sink);
    best
}

fn report(what: &str, ns: f64) {
    println!(
        "native {what}: {ns:.2} ns/lookup ({:.1} M lookups/s)",
        1e3 / ns
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, json, v4, v6] = args.as_slice() else {
        eprintln!("usage: native_lookup AWS_JSON V4_ADDRS V6_ADDRS");
        std::process::exit(2);
    };
    let bytes = std::fs::read(json).expect("AWS file");
    let ranges =
        ipfence_core::source::parse(&bytes, json, None, Default::default()).expect("parses");
    let m = Matcher::build(&ranges).expect("compiles");

    let v4: Vec<[u8; 4]> = read_addrs(v4)
        .into_iter()
        .filter_map(|a| match a {
            IpAddr::V4(a) => Some(a.octets()),
            IpAddr::V6(_) => None,
        })
        .collect();
    let v6: Vec<[u8; 16]> = read_addrs(v6)
        .into_iter()
        .filter_map(|a| match a {
            IpAddr::V6(a) => Some(a.octets()),
            IpAddr::V4(_) => None,
        })
        .collect();
    let mut found = vec![false; v4.len().max(v6.len())];

    // The C API's single calls and batches take packed network-order bytes; so do these.
    let ns = best(v4.len(), || {
        let m = black_box(&m);
        black_box(&v4)
            .iter()
            .map(|a| u64::from(m.contains_v4(Ipv4Addr::from(*a))))
            .sum()
    });
    report("v4 contains single", ns);
    let ns = best(v4.len(), || {
        let m = black_box(&m);
        for (o, a) in found.iter_mut().zip(black_box(&v4)) {
            *o = m.contains_v4(Ipv4Addr::from(*a));
        }
        black_box(&found).iter().filter(|f| **f).count() as u64
    });
    report("v4 contains batch", ns);
    let ns = best(v4.len(), || {
        let m = black_box(&m);
        black_box(&v4)
            .iter()
            .map(|a| match m.lookup_v4(Ipv4Addr::from(*a)) {
                // What the C API hands over: the prefix (network address and length),
                // the number of tag sets and the first tag set (all four strings).
                Some(hit) => {
                    let mut entries = hit.entries();
                    let count = entries.size_hint().0;
                    let first = entries.next().map_or(0, |t| {
                        t.source.len() + t.service.len() + t.region.len() + t.border_group.len()
                    });
                    let net = match hit.prefix() {
                        ipfence_core::IpNet::V4(n) => u64::from(u32::from(n.network())),
                        ipfence_core::IpNet::V6(n) => u128::from(n.network()) as u64,
                    };
                    net + u64::from(hit.prefix().prefix_len()) + (first + count) as u64
                }
                None => 0,
            })
            .sum()
    });
    report("v4 lookup single", ns);
    let ns = best(v6.len(), || {
        let m = black_box(&m);
        black_box(&v6)
            .iter()
            .map(|a| u64::from(m.contains(IpAddr::V6(Ipv6Addr::from(*a)))))
            .sum()
    });
    report("v6 contains single", ns);
    let ns = best(v6.len(), || {
        let m = black_box(&m);
        for (o, a) in found.iter_mut().zip(black_box(&v6)) {
            *o = m.contains(IpAddr::V6(Ipv6Addr::from(*a)));
        }
        black_box(&found).iter().filter(|f| **f).count() as u64
    });
    report("v6 contains batch", ns);
}
