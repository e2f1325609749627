//! Rendering every export format for all AMAZON prefixes of the newest AWS file and for
//! API_GATEWAY alone (time per whole file; target: under 2 ms per format for AMAZON).
//! AMAZON's cover is the whole file's (every published prefix is also AMAZON's: 3,860
//! CIDRs on 2026-08-22). Also the incremental updates of the firewall formats for the
//! whole file from a month before (2026-07-23).
//!
//! Run: `cargo bench --bench export -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ipfence_core::{Filter, PrefixSet, Ranges};
use ipfence_exporters::{export, Format, Header, Options, Request};

const AWS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/aws/ip-ranges-2026-08-22-15-17-05.json"
);

const AWS_MONTH_BEFORE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/aws/ip-ranges-2026-07-23-16-17-05.json"
);

fn load_file(path: &str) -> Ranges {
    let bytes = std::fs::read(path).expect("the AWS fixture");
    ipfence_core::source::aws::parse(&bytes, "ip-ranges.json", Default::default())
        .expect("it parses")
}

fn bench(c: &mut Criterion) {
    let ranges = load_file(AWS);
    println!("export: rendering each format for a service's whole selection of the AWS file (time per render)");
    for service in ["AMAZON", "API_GATEWAY"] {
        let set: PrefixSet = Filter::default()
            .services([service])
            .select(&ranges)
            .to_set();
        let mut group = c.benchmark_group(format!("export/{service}"));
        for format in Format::ALL {
            // iptables takes one family per file; the others take both.
            let set = if format == Format::Iptables {
                set.ipv4()
            } else {
                set.clone()
            };
            let options = Options {
                max_entries: Some(usize::MAX),
                ..Options::default()
            };
            let req = Request {
                set: &set,
                old: None,
                header: Header {
                    sources: &ranges.sources,
                    filter: service,
                },
                options: &options,
            };
            export(format, &req).expect("renders");
            group.bench_function(format.name(), |b| {
                b.iter(|| black_box(export(format, black_box(&req)).expect("renders")))
            });
        }
        group.finish();
    }
    let (old, new) = (load_file(AWS_MONTH_BEFORE).to_set(), ranges.to_set());
    let options = Options::default();
    let req = Request {
        set: &new,
        old: Some(&old),
        header: Header {
            sources: &ranges.sources,
            filter: "everything",
        },
        options: &options,
    };
    let mut group = c.benchmark_group("export/update-from-2026-07-23");
    for format in [Format::Nftables, Format::Ipset, Format::Pf] {
        export(format, &req).expect("renders");
        group.bench_function(format.name(), |b| {
            b.iter(|| black_box(export(format, black_box(&req)).expect("renders")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
