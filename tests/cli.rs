//! The CLI on the embedded snapshot and the real fixtures.

use std::net::IpAddr;

use serde_json::Value;

use crate::util::{data, ipfence, tempdir, AWS_NEW, AWS_PREV};

/// (service, region, network border group).
type Tag = (String, String, String);

/// Brute-force oracle straight from the JSON file: the longest published prefix containing
/// `ip`, and every (service, region, border group) published for exactly that prefix.
fn oracle(file: &str, ip: IpAddr) -> Option<(String, Vec<Tag>)> {
    let v: Value = serde_json::from_slice(&std::fs::read(data(file)).unwrap()).unwrap();
    let mut best: Option<(ipnet::IpNet, Vec<Tag>)> = None;
    for (list, key) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
        for e in v[list].as_array().unwrap() {
            let net: ipnet::IpNet = e[key].as_str().unwrap().parse().unwrap();
            if !net.contains(&ip) {
                continue;
            }
            let tags = (
                e["service"].as_str().unwrap().to_string(),
                e["region"].as_str().unwrap().to_string(),
                e["network_border_group"].as_str().unwrap_or("").to_string(),
            );
            match &mut best {
                Some((b, t)) if *b == net => {
                    if !t.contains(&tags) {
                        t.push(tags)
                    }
                }
                Some((b, _)) if b.prefix_len() >= net.prefix_len() => {}
                _ => best = Some((net, vec![tags])),
            }
        }
    }
    best.map(|(n, t)| (n.to_string(), t))
}

fn lookup_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["lookup", "--json"];
    all.extend_from_slice(args);
    let r = ipfence(&all, "");
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn lookup_on_embedded_snapshot_agrees_with_the_json() {
    let ips = [
        "3.5.140.2",
        "52.94.76.10",
        "2600:1f14::1",
        "13.248.118.1",
        "8.8.8.8",
        "::ffff:3.5.140.2",
        "2001:db8::1",
    ];
    let r = ipfence(
        &[
            "lookup", "--json", ips[0], ips[1], ips[2], ips[3], ips[4], ips[5], ips[6],
        ],
        "",
    );
    assert_eq!(
        r.code, 1,
        "8.8.8.8 is not AWS, so not all are allowed: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("createDate 2026-08-22-15-17-05")
            && r.stderr.contains("syncToken 1787411825"),
        "{}",
        r.stderr
    );
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), ips.len());
    for (line, ip) in lines.iter().zip(ips) {
        assert_eq!(line["ip"], ip);
        let addr: IpAddr = ip.parse().unwrap();
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        match oracle(AWS_NEW, addr) {
            None => {
                assert_eq!(line["allowed"], false, "{ip}");
                assert!(line["match"].is_null());
            }
            Some((prefix, tags)) => {
                assert_eq!(line["allowed"], true, "{ip}");
                assert_eq!(line["match"]["prefix"], prefix.as_str(), "{ip}");
                let got: Vec<Tag> = line["match"]["entries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        (
                            e["service"].as_str().unwrap().into(),
                            e["region"].as_str().unwrap().into(),
                            e["network_border_group"].as_str().unwrap().into(),
                        )
                    })
                    .collect();
                let (mut g, mut t) = (got.clone(), tags.clone());
                g.sort();
                t.sort();
                assert_eq!(g, t, "{ip}");
            }
        }
    }
    // The published prefix of 3.5.140.2 is listed by AMAZON and EC2: both tags are kept.
    assert!(lines[0]["match"]["entries"].as_array().unwrap().len() >= 2);
}

#[test]
fn lookup_exit_status_and_text_output() {
    let ok = ipfence(&["lookup", "3.5.140.2"], "");
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stdout
            .starts_with("3.5.140.2: allowed by 3.5.140.0/22 ("),
        "{}",
        ok.stdout
    );
    let no = ipfence(&["lookup", "--service", "CLOUDFRONT", "3.5.140.2"], "");
    assert_eq!(no.code, 1);
    assert_eq!(no.stdout, "3.5.140.2: not allowed\n");
    let bad = ipfence(&["lookup", "3.5.140.2", "3.5.140"], "");
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("argument 2: \"3.5.140\" is not an IPv4 or IPv6 address"),
        "{}",
        bad.stderr
    );
}

#[test]
fn lookup_reads_stdin_and_input_files() {
    let cf = data("cloudfront/list-cloudfront-ips.json");
    let r = ipfence(
        &["lookup", "--json", "--input", cf.to_str().unwrap()],
        "# a comment\n13.32.0.1\n\n1.1.1.1\n",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["match"]["prefix"], "13.32.0.0/15");
    assert_eq!(
        lines[0]["match"]["entries"][0]["service"],
        "CLOUDFRONT_GLOBAL_IP_LIST"
    );
    assert_eq!(lines[1]["allowed"], false);
    let r = ipfence(&["lookup", "--input", "-", "10.1.2.3"], "10.0.0.0/8\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn lookup_all_lists_every_containing_prefix_longest_first() {
    let lines = lookup_json(&["--all", "52.94.76.10"]);
    let all = lines[0]["all"].as_array().unwrap();
    assert!(!all.is_empty());
    let lens: Vec<u32> = all
        .iter()
        .map(|m| {
            m["prefix"]
                .as_str()
                .unwrap()
                .split('/')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(lens.windows(2).all(|w| w[0] > w[1]), "{lens:?}");
    assert_eq!(all[0], lines[0]["match"]);
}

#[test]
fn aggregate_gives_the_minimal_cover_and_fits_a_budget() {
    let r = ipfence(
        &["aggregate"],
        "10.0.0.0/25\n10.0.0.128/25\n10.0.1.0/24\n10.0.3.0/24\n2600::/64\n2600:0:0:1::/64\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "10.0.0.0/23\n10.0.3.0/24\n2600::/63\n");
    let r = ipfence(
        &["aggregate", "--max", "2", "--ipv4"],
        "10.0.0.0/24\n10.0.2.0/24\n10.0.3.0/24\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "10.0.0.0/24\n10.0.2.0/23\n");
    let r = ipfence(
        &["aggregate", "--max", "1", "--ipv4"],
        "10.0.0.0/24\n10.0.2.0/24\n10.0.3.0/24\n",
    );
    assert_eq!(r.stdout, "10.0.0.0/22\n");
    assert!(r.stderr.contains("256 extra IPv4"), "{}", r.stderr);
}

#[test]
fn aggregate_refuses_host_bits_unless_lenient() {
    let r = ipfence(&["aggregate"], "10.0.0.0/24\n10.0.0.1/8\n");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("<stdin>: line 2"), "{}", r.stderr);
    assert!(
        r.stderr.contains("\"10.0.0.1/8\" has host bits set"),
        "{}",
        r.stderr
    );
    let r = ipfence(&["aggregate", "--lenient"], "10.0.0.0/24\n10.0.0.1/8\n");
    assert_eq!((r.code, r.stdout.as_str()), (0, "10.0.0.0/8\n"));
}

#[test]
fn diff_of_a_real_consecutive_pair() {
    let (old, new) = (data(AWS_PREV), data(AWS_NEW));
    let r = ipfence(&["diff", old.to_str().unwrap(), new.to_str().unwrap()], "");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("+ 1.178.86.0/24 AMAZON ap-southeast-3 ap-southeast-3\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("+ 1.178.86.0/24 EC2 ap-southeast-3 ap-southeast-3\n"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.lines().any(|l| l.starts_with("- ")),
        "nothing was removed: {}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("2 entries added, 0 removed; addresses: +256 -0 IPv4, +0 -0 IPv6"),
        "{}",
        r.stdout
    );
    let same = ipfence(&["diff", new.to_str().unwrap(), new.to_str().unwrap()], "");
    assert_eq!(same.code, 0);
    let j = ipfence(
        &[
            "diff",
            "--json",
            "--service",
            "EC2",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
        ],
        "",
    );
    let v: Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["added"].as_array().unwrap().len(), 1);
    assert_eq!(v["summary"][0]["service"], "EC2");
    assert_eq!(v["addresses"]["ipv4_added"], 256);
}

#[test]
fn services_lists_counts() {
    let r = ipfence(&["services", "--json"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let list = v["services"].as_array().unwrap();
    let api = list
        .iter()
        .find(|s| s["service"] == "API_GATEWAY")
        .expect("API_GATEWAY is listed");
    // Count API_GATEWAY entries straight from the file.
    let raw: Value = serde_json::from_slice(&std::fs::read(data(AWS_NEW)).unwrap()).unwrap();
    let n4 = raw["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["service"] == "API_GATEWAY")
        .count();
    let n6 = raw["ipv6_prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["service"] == "API_GATEWAY")
        .count();
    assert_eq!(api["ipv4_prefixes"], n4);
    assert_eq!(api["ipv6_prefixes"], n6);
    let text = ipfence(&["services"], "");
    assert!(text.stdout.starts_with("SERVICE "), "{}", text.stdout);
}

#[test]
fn filters_catch_typos_and_empty_selections() {
    let r = ipfence(&["lookup", "--service", "API_GATEWAI", "1.2.3.4"], "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown service \"API_GATEWAI\""),
        "{}",
        r.stderr
    );
    // Both exist, but API_GATEWAY publishes nothing in GLOBAL: an empty allowlist is refused.
    let r = ipfence(
        &[
            "aggregate",
            "--input",
            "-",
            "--source-format",
            "aws",
            "--service",
            "API_GATEWAY",
            "--region",
            "GLOBAL",
        ],
        &std::fs::read_to_string(data(AWS_NEW)).unwrap(),
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("holds no address") && r.stderr.contains("--allow-empty"),
        "{}",
        r.stderr
    );
}

#[test]
fn compile_writes_a_blob_atomically() {
    let dir = tempdir();
    let out = dir.path().join("aws.ipfence");
    let r = ipfence(
        &[
            "compile",
            "--service",
            "S3",
            "--output",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let blob = std::fs::read(&out).unwrap();
    let (m, used) = ipfence_core::matcher::Matcher::from_bytes(&blob).unwrap();
    assert_eq!(used, blob.len());
    assert!(m.entry_count() > 0);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A failing write leaves nothing.
    let r = ipfence(
        &[
            "compile",
            "--output",
            dir.path().join("no/such/dir/x").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot create a temporary file"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_input_files_say_what_and_where() {
    let dir = tempdir();
    let truncated = dir.path().join("ip-ranges.json");
    let text = std::fs::read_to_string(data(AWS_NEW)).unwrap();
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let r = ipfence(
        &["lookup", "--input", truncated.to_str().unwrap(), "1.2.3.4"],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("ip-ranges.json"), "{}", r.stderr);
    assert!(r.stderr.contains("line "), "{}", r.stderr);
    let r = ipfence(&["lookup", "--input", "/no/such/file", "1.2.3.4"], "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("ipfence: /no/such/file: cannot open"),
        "{}",
        r.stderr
    );
    let r = ipfence(
        &[
            "lookup",
            "--input",
            truncated.to_str().unwrap(),
            "--max-input-bytes",
            "100",
            "1.2.3.4",
        ],
        "",
    );
    assert!(
        r.stderr.contains("larger than the limit of 100 bytes"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_compiled_blob_is_an_input_too() {
    let dir = tempdir();
    let blob = dir.path().join("s3.ipfence");
    let r = ipfence(
        &[
            "compile",
            "--service",
            "S3",
            "--output",
            blob.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let from_blob = ipfence(
        &[
            "lookup",
            "--json",
            "--input",
            blob.to_str().unwrap(),
            "3.5.140.2",
            "8.8.8.8",
        ],
        "",
    );
    let from_json = ipfence(
        &[
            "lookup",
            "--json",
            "--service",
            "S3",
            "3.5.140.2",
            "8.8.8.8",
        ],
        "",
    );
    assert_eq!(from_blob.code, 1, "{}", from_blob.stderr);
    assert_eq!(from_blob.stdout, from_json.stdout);
    let agg_blob = ipfence(&["aggregate", "--input", blob.to_str().unwrap()], "");
    let agg_json = ipfence(
        &[
            "aggregate",
            "--input",
            data(AWS_NEW).to_str().unwrap(),
            "--service",
            "S3",
        ],
        "",
    );
    assert_eq!(agg_blob.stdout, agg_json.stdout);
    // A corrupted blob is refused with the offset, not misread as a text list.
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let r = ipfence(
        &["lookup", "--input", blob.to_str().unwrap(), "3.5.140.2"],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("s3.ipfence: blob: offset"),
        "{}",
        r.stderr
    );
}
