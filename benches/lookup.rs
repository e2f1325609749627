//! Longest-prefix-match lookups on the real AWS list: `ipfence` against peer crates.
//!
//! Every iteration looks up the same batch of 4096 addresses (fixed seed): half inside
//! published prefixes, half anywhere in the family's address space. Criterion reports
//! the time per batch and the throughput in lookups per second; per-lookup nanoseconds
//! are the batch time divided by 4096.
//!
//! Run: `cargo bench --bench lookup -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ipfence_core::matcher::{Match, Matcher};
use ipfence_core::prefix::parse_addr;
use ipfence_core::{IpNet, Ipv4Net, Ipv6Net, Ranges};

const AWS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/aws/ip-ranges-2026-08-22-15-17-05.json"
);
const BATCH: usize = 4096;

/// splitmix64: a fixed, dependency-free stream of test addresses.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn load() -> Ranges {
    let bytes = std::fs::read(AWS).expect("the AWS fixture");
    ipfence_core::source::aws::parse(&bytes, "ip-ranges.json", Default::default())
        .expect("the AWS fixture parses")
}

fn queries_v4(nets: &[Ipv4Net], rng: &mut Rng) -> Vec<Ipv4Addr> {
    (0..BATCH)
        .map(|i| {
            if i % 2 == 0 {
                let n = nets[rng.below(nets.len())];
                let host = (rng.next() as u32) & !u32::from(n.netmask());
                Ipv4Addr::from(u32::from(n.network()) | host)
            } else {
                Ipv4Addr::from(rng.next() as u32)
            }
        })
        .collect()
}

fn queries_v6(nets: &[Ipv6Net], rng: &mut Rng) -> Vec<Ipv6Addr> {
    (0..BATCH)
        .map(|i| {
            let r = (u128::from(rng.next()) << 64) | u128::from(rng.next());
            if i % 2 == 0 {
                let n = nets[rng.below(nets.len())];
                Ipv6Addr::from(u128::from(n.network()) | (r & !u128::from(n.netmask())))
            } else {
                Ipv6Addr::from(r)
            }
        })
        .collect()
}

/// Reads every tag string of a lookup's answer.
fn read_tags(hit: Option<Match<'_>>) {
    for t in hit.iter().flat_map(|h| h.entries()) {
        black_box((t.provider, t.service, t.region, t.extra));
    }
}

/// Parses each text, then asks `contains`.
fn contains_from_text(m: &Matcher, texts: &[String]) {
    for t in texts {
        black_box(parse_addr(black_box(t)).is_ok_and(|a| m.contains(a)));
    }
}

fn bench(c: &mut Criterion) {
    let ranges = load();
    let m = Matcher::build(&ranges).expect("compiles");
    let (v4, v6): (Vec<IpNet>, Vec<IpNet>) = ranges
        .entries
        .iter()
        .map(|e| e.prefix)
        .partition(|p| matches!(p, IpNet::V4(_)));
    let v4: Vec<Ipv4Net> = v4
        .into_iter()
        .filter_map(|p| match p {
            IpNet::V4(n) => Some(n),
            IpNet::V6(_) => None,
        })
        .collect();
    let v6: Vec<Ipv6Net> = v6
        .into_iter()
        .filter_map(|p| match p {
            IpNet::V6(n) => Some(n),
            IpNet::V4(_) => None,
        })
        .collect();
    let mut rng = Rng(0x1bfe_0ce5_2026_0822);
    let q4 = queries_v4(&v4, &mut rng);
    let q6 = queries_v6(&v6, &mut rng);
    let t = Instant::now();
    let again = Matcher::build(&ranges).expect("compiles");
    let once = t.elapsed();
    println!(
        "lookup bench: AWS ip-ranges 2026-08-22-15-17-05, {} entries -> {} prefixes ({} v4 / {} v6 published); \
         blob {} bytes ({:.1} KiB); one compile {:.2} ms; batches of {BATCH} queries, \
         half inside published prefixes, half random, fixed seed; per-lookup ns = batch time / {BATCH}",
        ranges.len(),
        m.prefix_count(),
        v4.len(),
        v6.len(),
        m.as_bytes().len(),
        m.as_bytes().len() as f64 / 1024.0,
        once.as_secs_f64() * 1e3,
    );
    drop(again);

    // Peers, each mapping a prefix to its index in the published list.
    let mut pop4 = poptrie::Poptrie::<(u32, u8), u32>::new();
    let mut pop6 = poptrie::Poptrie::<(u128, u8), u32>::new();
    let mut pt4 = prefix_trie::PrefixMap::<Ipv4Net, u32>::new();
    let mut pt6 = prefix_trie::PrefixMap::<Ipv6Net, u32>::new();
    let mut ip4 = iptrie::map::RTrieMap::<Ipv4Net, u32>::with_root(u32::MAX);
    let mut ip6 = iptrie::map::RTrieMap::<Ipv6Net, u32>::with_root(u32::MAX);
    for (i, n) in v4.iter().enumerate() {
        pop4.insert((u32::from(n.network()), n.prefix_len()), i as u32);
        pt4.insert(*n, i as u32);
        ip4.insert(*n, i as u32);
    }
    for (i, n) in v6.iter().enumerate() {
        pop6.insert((u128::from(n.network()), n.prefix_len()), i as u32);
        pt6.insert(*n, i as u32);
        ip6.insert(*n, i as u32);
    }
    let ip4 = ip4.compress();
    let ip6 = ip6.compress();

    let mut g = c.benchmark_group("lookup_v4");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("ipfence_lookup", |b| {
        b.iter(|| {
            for &a in &q4 {
                black_box(m.lookup_v4(black_box(a)));
            }
        })
    });
    g.bench_function("ipfence_lookup_prefix", |b| {
        b.iter(|| {
            for &a in &q4 {
                black_box(m.lookup_v4(black_box(a)).map(|h| h.prefix()));
            }
        })
    });
    // Every tag set of the match read as strings: what a caller printing the answer does.
    g.bench_function("ipfence_lookup_tags", |b| {
        b.iter(|| {
            for &a in &q4 {
                read_tags(m.lookup_v4(black_box(a)));
            }
        })
    });
    // The batch API: LANES walks in lockstep so that their reads overlap (compare with
    // the floor rows below).
    let mut out4: Vec<Option<Match<'_>>> = vec![None; BATCH];
    g.bench_function("ipfence_lookup_batch", |b| {
        b.iter(|| {
            m.lookup_many_v4(black_box(&q4), &mut out4);
            black_box(&out4);
        })
    });
    let q4mixed: Vec<IpAddr> = q4.iter().map(|&a| IpAddr::V4(a)).collect();
    let mut has4 = vec![false; BATCH];
    g.bench_function("ipfence_contains_batch", |b| {
        b.iter(|| {
            m.contains_many(black_box(&q4mixed), &mut has4);
            black_box(&has4);
        })
    });
    g.bench_function("ipfence_contains", |b| {
        b.iter(|| {
            for &a in &q4 {
                black_box(m.contains_v4(black_box(a)));
            }
        })
    });
    // From text, as the wasm package's and the CLI's callers have it: parse, then look
    // up (the like-for-like reference for a per-call string API).
    let text4: Vec<String> = q4.iter().map(|a| a.to_string()).collect();
    g.bench_function("ipfence_contains_from_text", |b| {
        b.iter(|| contains_from_text(&m, &text4))
    });
    // Floors, not lookups: what any structure within the 1 MiB blob budget pays at
    // least. One random read of a 1 MiB table per query (a random address mostly needs
    // one), and two dependent reads (an address inside a published prefix longer than
    // the first level needs at least two).
    let floor: Vec<u32> = (0..1u32 << 18)
        .map(|i| i.wrapping_mul(0x9e37_79b9) >> 14)
        .collect();
    g.bench_function("floor_one_read_1mib", |b| {
        b.iter(|| {
            for &a in &q4 {
                black_box(floor.get((u32::from(black_box(a)) >> 14) as usize).copied());
            }
        })
    });
    g.bench_function("floor_two_reads_1mib", |b| {
        b.iter(|| {
            for &a in &q4 {
                let a = u32::from(black_box(a));
                let first = floor.get((a >> 14) as usize).copied().unwrap_or(0);
                black_box(
                    floor
                        .get(((first << 4) ^ (a & 0x3ffff)) as usize & 0x3ffff)
                        .copied(),
                );
            }
        })
    });
    // The walk's own cost, which no overlapping of reads removes: the same lookups over
    // the first 16 queries (half inside published prefixes, as in all) repeated, so that
    // every table line they read stays in the L1 cache.
    let hot4: Vec<Ipv4Addr> = (0..BATCH).map(|i| q4[i % 16]).collect();
    g.bench_function("floor_walk_in_l1", |b| {
        b.iter(|| {
            for &a in &hot4 {
                black_box(m.lookup_v4(black_box(a)));
            }
        })
    });
    g.bench_function("poptrie", |b| {
        b.iter(|| {
            for &a in &q4 {
                black_box(pop4.lookup(u32::from(black_box(a))));
            }
        })
    });
    g.bench_function("prefix_trie", |b| {
        b.iter(|| {
            for &a in &q4 {
                black_box(pt4.get_lpm(&Ipv4Net::from(black_box(a))));
            }
        })
    });
    g.bench_function("iptrie_lctrie", |b| {
        b.iter(|| {
            for &a in &q4 {
                black_box(ip4.lookup(&black_box(a)));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("lookup_v6");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("ipfence_lookup", |b| {
        b.iter(|| {
            for &a in &q6 {
                black_box(m.lookup_v6(black_box(a)));
            }
        })
    });
    g.bench_function("ipfence_lookup_prefix", |b| {
        b.iter(|| {
            for &a in &q6 {
                black_box(m.lookup_v6(black_box(a)).map(|h| h.prefix()));
            }
        })
    });
    // Every tag set of the match read as strings: what a caller printing the answer does.
    g.bench_function("ipfence_lookup_tags", |b| {
        b.iter(|| {
            for &a in &q6 {
                read_tags(m.lookup_v6(black_box(a)));
            }
        })
    });
    // The batch API: LANES walks in lockstep so that their reads overlap (compare with
    // the floor rows below).
    let mut out6: Vec<Option<Match<'_>>> = vec![None; BATCH];
    g.bench_function("ipfence_lookup_batch", |b| {
        b.iter(|| {
            m.lookup_many_v6(black_box(&q6), &mut out6);
            black_box(&out6);
        })
    });
    let q6mixed: Vec<IpAddr> = q6.iter().map(|&a| IpAddr::V6(a)).collect();
    let mut has6 = vec![false; BATCH];
    g.bench_function("ipfence_contains_batch", |b| {
        b.iter(|| {
            m.contains_many(black_box(&q6mixed), &mut has6);
            black_box(&has6);
        })
    });
    g.bench_function("ipfence_contains", |b| {
        b.iter(|| {
            for &a in &q6 {
                black_box(m.contains_v6(black_box(a)));
            }
        })
    });
    // From text, as the wasm package's and the CLI's callers have it: parse, then look
    // up (the like-for-like reference for a per-call string API).
    let text6: Vec<String> = q6.iter().map(|a| a.to_string()).collect();
    g.bench_function("ipfence_contains_from_text", |b| {
        b.iter(|| contains_from_text(&m, &text6))
    });
    // As for IPv4: the walk alone, every table line it reads in the L1 cache.
    let hot6: Vec<Ipv6Addr> = (0..BATCH).map(|i| q6[i % 16]).collect();
    g.bench_function("floor_walk_in_l1", |b| {
        b.iter(|| {
            for &a in &hot6 {
                black_box(m.lookup_v6(black_box(a)));
            }
        })
    });
    g.bench_function("poptrie", |b| {
        b.iter(|| {
            for &a in &q6 {
                black_box(pop6.lookup(u128::from(black_box(a))));
            }
        })
    });
    g.bench_function("prefix_trie", |b| {
        b.iter(|| {
            for &a in &q6 {
                black_box(pt6.get_lpm(&Ipv6Net::from(black_box(a))));
            }
        })
    });
    g.bench_function("iptrie_lctrie", |b| {
        b.iter(|| {
            for &a in &q6 {
                black_box(ip6.lookup(&black_box(a)));
            }
        })
    });
    g.finish();

    // The all-provider matcher the CLI embeds (every list in tests/data/): same
    // queries drawn from its own prefixes.
    let (all, _) = Matcher::from_bytes(ipfence::EMBEDDED).expect("the embedded blob loads");
    let all_ranges = all.to_ranges();
    let all4: Vec<Ipv4Net> = all_ranges
        .entries
        .iter()
        .filter_map(|e| match e.prefix {
            IpNet::V4(n) => Some(n),
            IpNet::V6(_) => None,
        })
        .collect();
    let all6: Vec<Ipv6Net> = all_ranges
        .entries
        .iter()
        .filter_map(|e| match e.prefix {
            IpNet::V6(n) => Some(n),
            IpNet::V4(_) => None,
        })
        .collect();
    let a4 = queries_v4(&all4, &mut rng);
    let a6 = queries_v6(&all6, &mut rng);
    println!(
        "all-provider matcher: {} prefixes, blob {} bytes",
        all.prefix_count(),
        all.as_bytes().len()
    );
    let mut p4 = poptrie::Poptrie::<(u32, u8), u32>::new();
    let mut p6 = poptrie::Poptrie::<(u128, u8), u32>::new();
    for (i, n) in all4.iter().enumerate() {
        p4.insert((u32::from(n.network()), n.prefix_len()), i as u32);
    }
    for (i, n) in all6.iter().enumerate() {
        p6.insert((u128::from(n.network()), n.prefix_len()), i as u32);
    }
    let mut g = c.benchmark_group("all_providers");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("v4_ipfence_lookup", |b| {
        b.iter(|| {
            for &a in &a4 {
                black_box(all.lookup_v4(black_box(a)));
            }
        })
    });
    let mut o = vec![None; BATCH];
    g.bench_function("v4_ipfence_lookup_batch", |b| {
        b.iter(|| {
            all.lookup_many_v4(black_box(&a4), &mut o);
            black_box(&o);
        })
    });
    g.bench_function("v4_poptrie", |b| {
        b.iter(|| {
            for &a in &a4 {
                black_box(p4.lookup(u32::from(black_box(a))));
            }
        })
    });
    g.bench_function("v6_ipfence_lookup", |b| {
        b.iter(|| {
            for &a in &a6 {
                black_box(all.lookup_v6(black_box(a)));
            }
        })
    });
    let mut o = vec![None; BATCH];
    g.bench_function("v6_ipfence_lookup_batch", |b| {
        b.iter(|| {
            all.lookup_many_v6(black_box(&a6), &mut o);
            black_box(&o);
        })
    });
    g.bench_function("v6_poptrie", |b| {
        b.iter(|| {
            for &a in &a6 {
                black_box(p6.lookup(u128::from(black_box(a))));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("compile");
    g.bench_function("aws_full", |b| {
        b.iter(|| black_box(Matcher::build(black_box(&ranges)).expect("compiles")))
    });
    g.bench_function("load_from_bytes", |b| {
        b.iter_batched(
            || (),
            |()| black_box(Matcher::from_bytes(black_box(m.as_bytes())).map(|x| x.1)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
