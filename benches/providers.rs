//! Every provider's list in one matcher: reading and compiling them all, the blob's size,
//! and lookups in it beside the AWS-only matcher and poptrie on the same prefixes, in
//! one run.
//!
//! Queries: 4096 per family (fixed seed), half inside prefixes of the all-provider set,
//! half anywhere in the family's space; both matchers answer the same queries. The
//! `aws_queries/` rows answer, with both matchers, queries drawn the same way from the
//! AWS prefixes alone: what an AWS-only user pays for the other providers' lists.
//!
//! Run: `cargo bench --bench providers -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipfence_core::matcher::Matcher;
use ipfence_core::source::{self, Label, Options};
use ipfence_core::{IpNet, Ranges};

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
}

/// Every list the binary embeds (tests/data/embedded.txt), with the name it needs.
fn read_all() -> Vec<(Vec<u8>, String, Option<String>)> {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let list = std::fs::read_to_string(format!("{data}/embedded.txt")).expect("the list");
    list.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            let file = words.next().expect("a file").to_string();
            let label = words.next().map(String::from);
            (
                std::fs::read(format!("{data}/{file}")).expect("a fixture"),
                file,
                label,
            )
        })
        .collect()
}

/// Parses every list into one [`Ranges`].
fn parse_all(files: &[(Vec<u8>, String, Option<String>)]) -> Ranges {
    let mut all = Ranges::new();
    for (bytes, name, label) in files {
        let label = label
            .as_deref()
            .map(|l| Label::new(l).expect("a valid name"));
        let r = source::parse_labeled(bytes, name, None, label.as_ref(), Options::default())
            .expect("every fixture parses");
        all.extend(&r);
    }
    all
}

fn queries(nets: &[IpNet], rng: &mut Rng) -> (Vec<Ipv4Addr>, Vec<Ipv6Addr>) {
    let (v4, v6): (Vec<_>, Vec<_>) = nets.iter().partition(|n| matches!(n, IpNet::V4(_)));
    let pick = |list: &[&IpNet], rng: &mut Rng| *list[(rng.next() % list.len() as u64) as usize];
    let mut q4 = Vec::with_capacity(BATCH);
    let mut q6 = Vec::with_capacity(BATCH);
    for i in 0..BATCH {
        let r = (u128::from(rng.next()) << 64) | u128::from(rng.next());
        match (i % 2, pick(&v4, rng), pick(&v6, rng)) {
            (0, IpNet::V4(a), IpNet::V6(b)) => {
                let host = (r as u32) & !u32::from(a.netmask());
                q4.push(Ipv4Addr::from(u32::from(a.network()) | host));
                q6.push(Ipv6Addr::from(
                    u128::from(b.network()) | (r & !u128::from(b.netmask())),
                ));
            }
            _ => {
                q4.push(Ipv4Addr::from(r as u32));
                q6.push(Ipv6Addr::from(r));
            }
        }
    }
    (q4, q6)
}

fn bench(c: &mut Criterion) {
    let files = read_all();
    let all = parse_all(&files);
    let aws = parse_all(&files[..1]);
    let m_all = Matcher::build(&all).expect("compiles");
    let m_aws = Matcher::build(&aws).expect("compiles");
    let t = Instant::now();
    let again = Matcher::build(&all).expect("compiles");
    let once = t.elapsed();
    drop(again);
    println!(
        "providers bench: {} lists, {} entries, {} prefixes; all-provider blob {} bytes ({:.2} MiB), \
         AWS-only blob {} bytes; one compile {:.1} ms",
        files.len(),
        all.len(),
        m_all.prefix_count(),
        m_all.as_bytes().len(),
        m_all.as_bytes().len() as f64 / (1024.0 * 1024.0),
        m_aws.as_bytes().len(),
        once.as_secs_f64() * 1e3,
    );
    let nets: Vec<IpNet> = all.entries.iter().map(|e| e.prefix).collect();
    let (q4, q6) = queries(&nets, &mut Rng(0x1bfe_0ce5_2026_1203));
    // The queries an AWS-only user sends (half inside AWS prefixes): does adding every
    // other provider slow their lookups down?
    let aws_nets: Vec<IpNet> = aws.entries.iter().map(|e| e.prefix).collect();
    let (w4, w6) = queries(&aws_nets, &mut Rng(0x1bfe_0ce5_2026_1203));

    let mut pop4 = poptrie::Poptrie::<(u32, u8), u32>::new();
    let mut pop6 = poptrie::Poptrie::<(u128, u8), u32>::new();
    for (i, n) in nets.iter().enumerate() {
        match n {
            IpNet::V4(n) => {
                pop4.insert((u32::from(n.network()), n.prefix_len()), i as u32);
            }
            IpNet::V6(n) => {
                pop6.insert((u128::from(n.network()), n.prefix_len()), i as u32);
            }
        }
    }

    let mut g = c.benchmark_group("all_providers");
    g.bench_function("read_and_compile", |b| {
        b.iter(|| black_box(Matcher::build(&parse_all(black_box(&files))).expect("compiles")))
    });
    g.bench_function("compile", |b| {
        b.iter(|| black_box(Matcher::build(black_box(&all)).expect("compiles")))
    });
    // The address set of every entry (what `aggregate` and `services` build): mostly
    // sorting the prefixes by start.
    g.bench_function("address_set", |b| {
        b.iter(|| black_box(black_box(&all).to_set()))
    });
    g.finish();

    for (family, lookups) in [("v4", true), ("v6", false)] {
        let mut g = c.benchmark_group(format!("all_providers_lookup_{family}"));
        g.throughput(Throughput::Elements(BATCH as u64));
        for (name, m, (q4, q6)) in [
            ("ipfence_all", &m_all, (&q4, &q6)),
            ("ipfence_aws_only", &m_aws, (&q4, &q6)),
            ("aws_queries/ipfence_all", &m_all, (&w4, &w6)),
            ("aws_queries/ipfence_aws_only", &m_aws, (&w4, &w6)),
        ] {
            g.bench_function(name, |b| {
                b.iter(|| {
                    if lookups {
                        for &a in q4 {
                            black_box(m.lookup_v4(black_box(a)));
                        }
                    } else {
                        for &a in q6 {
                            black_box(m.lookup_v6(black_box(a)));
                        }
                    }
                })
            });
        }
        g.bench_function("poptrie_all", |b| {
            b.iter(|| {
                if lookups {
                    for &a in &q4 {
                        black_box(pop4.lookup(u32::from(black_box(a))));
                    }
                } else {
                    for &a in &q6 {
                        black_box(pop6.lookup(u128::from(black_box(a))));
                    }
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
