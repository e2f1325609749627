//! Native Rust lookups, measured exactly as `bench/bench.c` measures them through the C
//! API: same AWS file, same address files, same loops, best of several runs.
//!
//! Two native references for `lookup`:
//! - `lookup core`: what a Rust user of `ipfence-core` writes to get what the C call
//!   returns (prefix, length, number of tag sets, first tag set): `lookup_v4` +
//!   `Match::prefix` + `Match::entries`, which resolves the tag strings on every call.
//! - `lookup same`: the very code the C API runs (`src/lookup.rs`, included below), with
//!   its per-prefix index, inlined into a Rust loop: the same work without the C
//!   boundary. The call overhead is the C figure minus this one.
//!
//! Every `lookup same` row writes the whole `ipfence_match` to memory (`black_box`), as
//! the C call must, so the compiler cannot drop the fields C does not read.
//!
//! usage: native_lookup AWS_JSON V4_ADDRS V6_ADDRS
//! (run by scripts/bench-ffi, which prints the programs' figures side by side)

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use ipfence_core::matcher::{Match, Matcher};

#[allow(dead_code)]
#[path = "../src/lookup.rs"]
mod lookup;

use lookup::{contains_v6, ipfence_match, lookup_v4, Index};

/// As the C API looks up 16 bytes: an IPv4-mapped address as IPv4.
fn lookup_v6<'a>(m: &'a Matcher<&'a [u8]>, a: [u8; 16]) -> Option<Match<'a>> {
    match ipfence_core::prefix::canonical(IpAddr::V6(Ipv6Addr::from(a))) {
        IpAddr::V4(a) => m.lookup_v4(a),
        IpAddr::V6(a) => m.lookup_v6(a),
    }
}

const RUNS: usize = 15;
const TARGET_LOOKUPS: usize = 1_000_000;

fn read_addrs(path: &str) -> Vec<IpAddr> {
    std::fs::read_to_string(path)
        .expect("address file")
        .lines()
        .map(|l| l.parse().expect("an address"))
        .collect()
}

/// A row: its name, the number of lookups of one pass, and the pass (returns a checksum).
type Row<'a> = (String, usize, Box<dyn FnMut() -> u64 + 'a>);

/// Nanoseconds per lookup of one run of about `TARGET_LOOKUPS` lookups.
fn run(n: usize, pass: &mut dyn FnMut() -> u64, sink: &mut u64) -> f64 {
    let reps = (TARGET_LOOKUPS / n).max(1);
    let t = Instant::now();
    for _ in 0..reps {
        *sink = sink.wrapping_add(pass());
    }
    t.elapsed().as_nanos() as f64 / (reps * n) as f64
}

fn report(what: &str, ns: f64) {
    println!(
        "native {what}: {ns:.2} ns/lookup ({:.1} M lookups/s)",
        1e3 / ns
    );
}

/// What the C benchmark reads of a match: the prefix length and the service's length.
fn consume(x: &ipfence_match) -> u64 {
    u64::from(x.prefix_len) + x.tags.service.len as u64
}

/// The `lookup core` work: everything the C call returns, through the core's API.
fn core_answer(hit: &Match<'_>) -> u64 {
    let mut entries = hit.entries();
    let count = entries.size_hint().0;
    let first = entries.next().map_or(0, |t| {
        black_box((t.provider, t.service, t.region, t.extra));
        t.service.len()
    });
    let p = hit.prefix();
    black_box(p.network());
    u64::from(p.prefix_len()) + (first + black_box(count)) as u64
}

/// The rows of one family; `contains`, `lookup` take the packed address.
/// (`black_box(m)` once per pass, as in a real loop: the compiler may keep the matcher's
/// fields in registers across lookups, which a C call cannot.)
fn family<'a, 'm: 'a, const N: usize>(
    name: &str,
    m: &'m Matcher<&'m [u8]>,
    addrs: &'a [[u8; N]],
    contains: impl Fn(&'m Matcher<&'m [u8]>, [u8; N]) -> bool + Copy + 'a,
    lookup: impl Fn(&'m Matcher<&'m [u8]>, [u8; N]) -> Option<Match<'m>> + Copy + 'a,
    index: &'a Index,
) -> Vec<Row<'a>> {
    let n = addrs.len();
    let blank = ipfence_match {
        addr: [0; 16],
        family: 0,
        prefix_len: 0,
        entry_count: 0,
        tags: lookup::ipfence_tags::empty(),
    };
    let mut found = vec![false; n];
    let (mut found2, mut matches) = (vec![false; n], vec![blank; n]);
    let row = |what: &str, pass: Box<dyn FnMut() -> u64 + 'a>| (format!("{name} {what}"), n, pass);
    vec![
        row(
            "contains single",
            Box::new(move || {
                let m = black_box(m);
                black_box(addrs)
                    .iter()
                    .map(|a| u64::from(contains(m, *a)))
                    .sum()
            }),
        ),
        row(
            "contains batch",
            Box::new(move || {
                let m = black_box(m);
                for (o, a) in found.iter_mut().zip(black_box(addrs)) {
                    *o = contains(m, *a);
                }
                black_box(&found).iter().filter(|f| **f).count() as u64
            }),
        ),
        row(
            "lookup core",
            Box::new(move || {
                let m = black_box(m);
                black_box(addrs)
                    .iter()
                    .map(|a| lookup(m, *a).map_or(0, |hit| core_answer(&hit)))
                    .sum()
            }),
        ),
        row(
            "lookup same single",
            Box::new(move || {
                let (m, index) = black_box((m, index));
                black_box(addrs)
                    .iter()
                    .map(|a| match lookup(m, *a) {
                        Some(hit) => {
                            let x = index.fill(&hit);
                            consume(black_box(&x))
                        }
                        None => 0,
                    })
                    .sum()
            }),
        ),
        row(
            "lookup same batch",
            Box::new(move || {
                let (m, index) = black_box((m, index));
                for ((o, f), a) in matches.iter_mut().zip(&mut found2).zip(black_box(addrs)) {
                    let hit = lookup(m, *a);
                    if let Some(hit) = &hit {
                        *o = index.fill(hit);
                    }
                    *f = hit.is_some();
                }
                let (matches, found) = black_box((&matches, &found2));
                matches
                    .iter()
                    .zip(found)
                    .map(|(x, f)| if *f { consume(x) } else { 0 })
                    .sum()
            }),
        ),
    ]
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
    // As the C API holds it: a matcher over borrowed bytes (`Matcher<&[u8]>`).
    let built = Matcher::build(&ranges).expect("compiles");
    let blob = built.to_bytes();
    let (m, _) = Matcher::from_bytes(&blob).expect("loads");
    let m = &m;
    let t = Instant::now();
    let index = Index::new(m);
    eprintln!(
        "native: lookup index of {} prefixes built in {:.1} ms, {} KB",
        m.prefix_count(),
        t.elapsed().as_secs_f64() * 1e3,
        index.heap_size() / 1024
    );

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

    // The C API's single calls and batches take packed network-order bytes; so do these,
    // and IPv6 goes through the same IPv4-mapped check.
    let mut rows = family(
        "v4",
        m,
        &v4,
        |m, a| m.contains_v4(Ipv4Addr::from(a)),
        lookup_v4,
        &index,
    );
    rows.extend(family("v6", m, &v6, contains_v6, lookup_v6, &index));
    // Runs of every row take turns, so that a busy spell of a shared machine lands on
    // all rows alike; each row keeps its best run.
    let mut best = vec![f64::INFINITY; rows.len()];
    let mut sink = 0u64;
    for _ in 0..RUNS {
        for ((_, n, pass), b) in rows.iter_mut().zip(&mut best) {
            *b = b.min(run(*n, pass, &mut sink));
        }
    }
    black_box(sink);
    for ((what, _, _), ns) in rows.iter().zip(best) {
        report(what, ns);
    }
}
