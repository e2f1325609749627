//! The CLI on the embedded snapshot and the real fixtures.

use std::net::IpAddr;

use serde_json::Value;

use crate::util::{data, ipfence, ipfence_env, tempdir, AWS_NEW, AWS_PREV};

/// An AWS file without EFS, and a later one that has it.
const AWS_FEB: &str = "aws/ip-ranges-2026-02-21-01-58-04.json";
const AWS_JUL: &str = "aws/ip-ranges-2026-07-23-16-17-05.json";

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
            "lookup",
            "--provider",
            "aws",
            "--json",
            ips[0],
            ips[1],
            ips[2],
            ips[3],
            ips[4],
            ips[5],
            ips[6],
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
        &["aggregate", "-i", "-"],
        "10.0.0.0/25\n10.0.0.128/25\n10.0.1.0/24\n10.0.3.0/24\n2600::/64\n2600:0:0:1::/64\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "10.0.0.0/23\n10.0.3.0/24\n2600::/63\n");
    let r = ipfence(
        &["aggregate", "-i", "-", "--max", "2", "--ipv4"],
        "10.0.0.0/24\n10.0.2.0/24\n10.0.3.0/24\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "10.0.0.0/24\n10.0.2.0/23\n");
    let r = ipfence(
        &["aggregate", "-i", "-", "--max", "1", "--ipv4"],
        "10.0.0.0/24\n10.0.2.0/24\n10.0.3.0/24\n",
    );
    assert_eq!(r.stdout, "10.0.0.0/22\n");
    assert!(
        r.stderr
            .contains("IPv4: 2 prefixes fitted into 1, allowing 256 extra addresses"),
        "{}",
        r.stderr
    );
}

#[test]
fn aggregate_refuses_host_bits_unless_lenient() {
    let r = ipfence(&["aggregate", "-i", "-"], "10.0.0.0/24\n10.0.0.1/8\n");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("<stdin>: line 2"), "{}", r.stderr);
    assert!(
        r.stderr.contains("\"10.0.0.1/8\" has host bits set"),
        "{}",
        r.stderr
    );
    let r = ipfence(
        &["aggregate", "-i", "-", "--lenient"],
        "10.0.0.0/24\n10.0.0.1/8\n",
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "10.0.0.0/8\n"));
}

fn nets(text: &str) -> Vec<ipnet::IpNet> {
    text.lines().map(|l| l.parse().unwrap()).collect()
}

/// Addresses in a list of disjoint prefixes of one family.
fn size(list: &[ipnet::IpNet]) -> u128 {
    list.iter()
        .map(|n| 1u128 << (n.max_prefix_len() - n.prefix_len()))
        .sum()
}

/// Issue 13, item 1: `aggregate --service S3 --max 60` printed 0.0.0.0/0 plus 59 IPv6
/// prefixes, one budget shared by both families.
#[test]
fn aggregate_max_is_per_family_and_never_allows_all_of_ipv4() {
    let exact = ipfence(&["aggregate", "--service", "S3"], "");
    assert_eq!(exact.code, 0, "{}", exact.stderr);
    let exact = nets(&exact.stdout);
    let r = ipfence(
        &[
            "aggregate",
            "--service",
            "S3",
            "--max",
            "60",
            "--max-extra-ratio",
            "20",
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let fit = nets(&r.stdout);
    assert!(!r.stdout.contains("/0\n"), "{}", r.stdout);
    for (fam, v4) in [("IPv4", true), ("IPv6", false)] {
        let before: Vec<_> = exact
            .iter()
            .filter(|n| n.addr().is_ipv4() == v4)
            .copied()
            .collect();
        let after: Vec<_> = fit
            .iter()
            .filter(|n| n.addr().is_ipv4() == v4)
            .copied()
            .collect();
        assert!(before.len() > 60, "{fam}: S3 has more than 60 prefixes");
        assert_eq!(after.len(), 60, "{fam}: the whole budget, per family");
        // Nothing dropped; no new prefix shorter than /8 (IPv4) or /16 (IPv6).
        for n in &before {
            assert!(after.iter().any(|a| a.contains(n)), "{fam}: {n} dropped");
        }
        let shortest = if v4 { 8 } else { 16 };
        for a in &after {
            assert!(
                a.prefix_len() >= shortest || before.contains(a),
                "{fam}: {a}"
            );
        }
        let extra = size(&after) - size(&before);
        let line = format!(
            "{fam}: {} prefixes fitted into 60, allowing {extra} extra addresses",
            before.len()
        );
        assert!(r.stderr.contains(&line), "{line:?} in {}", r.stderr);
        assert!(extra <= 20 * size(&before), "{fam}: within the bound");
    }
}

/// Issue 13, item 1: a fit admitting more extra addresses than the set holds, or a
/// prefix shorter than /8, is refused unless the bound is raised explicitly.
#[test]
fn aggregate_refuses_an_absurd_widening_unless_the_bound_is_raised() {
    let r = ipfence(
        &["aggregate", "--service", "S3", "--ipv4", "--max", "60"],
        "",
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .contains("fitting 175 IPv4 prefixes into 60 would allow")
            && r.stderr.contains("over the bound of 1 times"),
        "{}",
        r.stderr
    );
    // The error names the flag and the value that accepts this fit.
    let value = r
        .stderr
        .split("--max-extra-ratio ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .unwrap_or_else(|| panic!("no --max-extra-ratio in {}", r.stderr));
    let ok = ipfence(
        &[
            "aggregate",
            "--service",
            "S3",
            "--ipv4",
            "--max",
            "60",
            "--max-extra-ratio",
            value,
        ],
        "",
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(ok.stdout.lines().count(), 60);
    // A sane budget needs no bound raised (the help's example).
    let ok = ipfence(
        &["aggregate", "--service", "S3", "--ipv4", "--max", "100"],
        "",
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    // Two /24s in different /8s into one prefix: a /0 or /1 is refused by length.
    let two = "10.0.0.0/24\n192.168.0.0/24\n";
    let r = ipfence(
        &[
            "aggregate",
            "-i",
            "-",
            "--max",
            "1",
            "--max-extra-ratio",
            "inf",
        ],
        two,
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("shorter than /8") && r.stderr.contains("--min-prefix-len-v4 7 or less"),
        "{}",
        r.stderr
    );
    let r = ipfence(
        &[
            "aggregate",
            "-i",
            "-",
            "--max",
            "1",
            "--max-extra-ratio",
            "inf",
            "--min-prefix-len-v4",
            "0",
        ],
        two,
    );
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "0.0.0.0/0\n"),
        "{}",
        r.stderr
    );
}

/// Issue 13, item 1: export --summarize goes through the same guard.
#[test]
fn export_summarize_refuses_an_absurd_widening() {
    let r = ipfence(
        &[
            "export",
            "--format",
            "aws-waf",
            "--service",
            "S3",
            "--ipv4",
            "--max-entries",
            "60",
            "--summarize",
        ],
        "",
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("refusing so wide an allowlist"),
        "{}",
        r.stderr
    );
    let r = ipfence(
        &[
            "export",
            "--format",
            "aws-waf",
            "--service",
            "S3",
            "--ipv4",
            "--max-entries",
            "100",
            "--summarize",
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("summarized into 100"), "{}", r.stderr);
}

/// Issue 13, item 4: one rule for every command: the embedded snapshot unless --input.
#[test]
fn aggregate_without_input_uses_the_embedded_snapshot() {
    let file = data(AWS_NEW);
    let want = ipfence(
        &[
            "aggregate",
            "-i",
            file.to_str().unwrap(),
            "--service",
            "S3",
            "--ipv4",
        ],
        "",
    );
    assert_eq!(want.code, 0, "{}", want.stderr);
    // Stdin holds CIDRs that are not S3: they must be ignored, not read.
    let r = ipfence(
        &["aggregate", "--service", "S3", "--ipv4"],
        "192.0.2.0/24\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, want.stdout);
    assert!(r.stderr.contains("using the embedded data"), "{}", r.stderr);
    // A CIDR list names no service: say so rather than list nothing.
    let r = ipfence(
        &["aggregate", "-i", "-", "--service", "S3"],
        "192.0.2.0/24\n",
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("unknown service \"S3\": the input has no service names at all"),
        "{}",
        r.stderr
    );
    // Nor do Cloudflare's lists: the message names the providers selected, not the input.
    let r = ipfence(
        &["aggregate", "--provider", "cloudflare", "--service", "x"],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "unknown service \"x\": the lists of cloudflare have no service names at all"
        ),
        "{}",
        r.stderr
    );
    let r = ipfence(&["aggregate", "-i", "-", "-i", "-"], "192.0.2.0/24\n");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("more than once"), "{}", r.stderr);
}

/// Issue 13, item 4: stdin cannot be both the ranges and the addresses; no address is
/// an error.
#[test]
fn lookup_refuses_stdin_twice_and_an_empty_list() {
    let r = ipfence(&["lookup", "-i", "-"], "3.5.140.2\n");
    assert_eq!(r.code, 2, "{} {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("stdin is the ranges (--input -)"),
        "{}",
        r.stderr
    );
    for stdin in ["", "# only a comment\n\n"] {
        let r = ipfence(&["lookup"], stdin);
        assert_eq!(r.code, 2, "{:?}: {}", stdin, r.stdout);
        assert!(r.stderr.contains("no address to look up"), "{}", r.stderr);
    }
    // Ranges on stdin with the addresses as arguments is fine.
    let r = ipfence(&["lookup", "-i", "-", "10.1.2.3"], "10.0.0.0/8\n");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("10.1.2.3: allowed by 10.0.0.0/8"),
        "{}",
        r.stdout
    );
}

/// Issue 13, item 6: `-o DIR/` failed after the work with "cannot replace: Not a
/// directory".
#[test]
fn output_to_a_directory_is_refused_before_any_work() {
    let dir = tempdir();
    let d = dir.path().to_str().unwrap();
    let slash = format!("{d}/");
    let missing = format!("{d}/no/such/file.txt");
    for args in [
        vec!["aggregate", "--service", "S3", "-o", slash.as_str()],
        vec!["aggregate", "--service", "S3", "-o", d],
        vec!["compile", "-o", slash.as_str()],
        vec!["export", "--format", "nftables", "-o", d],
    ] {
        let r = ipfence(&args, "");
        assert_eq!(r.code, 2, "{args:?}");
        assert!(
            r.stderr.contains("is a directory: give a file path"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("using embedded"),
            "before any work: {}",
            r.stderr
        );
    }
    let r = ipfence(&["aggregate", "-o", missing.as_str()], "");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(d).unwrap().count(), 0, "nothing written");
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
    assert_eq!(v["addresses"]["ipv4_added"], "256");
}

/// Issue 13, item 6: IPv6 counts were strings and IPv4 counts numbers in `diff --json`;
/// both are now decimal strings (exact past 2^53).
#[test]
fn diff_json_counts_are_decimal_strings_for_both_families() {
    let (old, new) = (data(AWS_FEB), data(AWS_JUL));
    let r = ipfence(
        &[
            "diff",
            "--json",
            "--service",
            "EFS",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
        ],
        "",
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let added: Vec<ipnet::IpNet> = v["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["prefix"].as_str().unwrap().parse().unwrap())
        .collect();
    for (key, v4) in [("ipv4_added", true), ("ipv6_added", false)] {
        let text = v["addresses"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: {}", v["addresses"]));
        let mut fam: Vec<_> = added
            .iter()
            .filter(|n| n.addr().is_ipv4() == v4)
            .copied()
            .collect();
        fam = ipnet::IpNet::aggregate(&fam);
        assert_eq!(text.parse::<u128>().unwrap(), size(&fam), "{key}");
    }
    assert!(
        v["addresses"]["ipv6_added"]
            .as_str()
            .unwrap()
            .parse::<u128>()
            .unwrap()
            > 1 << 53
    );
    assert_eq!(v["addresses"]["ipv4_removed"], "0");
    let s = ipfence(&["services", "--json"], "");
    let v: Value = serde_json::from_str(&s.stdout).unwrap();
    assert!(
        v["ipv4_addresses"].is_string() && v["ipv6_addresses"].is_string(),
        "{v}"
    );
}

/// Issue 13, item 6: `diff --service EFS OLD NEW` failed with "the input has none"
/// without naming the file, when only OLD lacks EFS.
#[test]
fn diff_of_a_service_new_in_new_shows_it_all_added() {
    let (old, new) = (data(AWS_FEB), data(AWS_JUL));
    let (o, n) = (old.to_str().unwrap(), new.to_str().unwrap());
    let r = ipfence(&["diff", "--service", "EFS", o, n], "");
    assert_eq!(r.code, 1, "{}", r.stderr);
    let raw: Value = serde_json::from_slice(&std::fs::read(&new).unwrap()).unwrap();
    let efs = ["prefixes", "ipv6_prefixes"]
        .iter()
        .flat_map(|k| raw[k].as_array().unwrap())
        .filter(|e| e["service"] == "EFS")
        .count();
    assert!(efs > 0);
    let plus = r.stdout.lines().filter(|l| l.starts_with("+ ")).count();
    assert_eq!(plus, efs, "{}", r.stdout);
    assert!(!r.stdout.lines().any(|l| l.starts_with("- ")));
    assert!(
        r.stderr.contains(&format!("{o}: unknown service \"EFS\""))
            && r.stderr.contains("all show as added"),
        "{}",
        r.stderr
    );
    // The other way round: all removed.
    let r = ipfence(&["diff", "--service", "EFS", n, o], "");
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout.lines().filter(|l| l.starts_with("- ")).count(),
        efs
    );
    // In neither: an error naming both files.
    let r = ipfence(&["diff", "--service", "EFSX", o, n], "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains(&format!("{o} and {n}: unknown service \"EFSX\"")),
        "{}",
        r.stderr
    );
}

/// Runs the binary with `IPFENCE_NOW` set.
fn ipfence_on(now: &str, args: &[&str]) -> crate::util::Run {
    std::process::Command::new(env!("CARGO_BIN_EXE_ipfence"))
        .args(args)
        .env("IPFENCE_NOW", now)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into()
}

/// Issue 13, item 6: the embedded snapshot was 102 days old and used with only its
/// createDate on stderr.
#[test]
fn data_older_than_thirty_days_gets_a_warning_with_the_fix() {
    // The embedded snapshot's createDate is 2026-08-22.
    let r = ipfence_on(
        "2026-09-22",
        &["export", "--format", "nftables", "--service", "S3"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: the embedded data is old: 1 list this answer uses was published more than 30 days ago (the oldest, embedded aws/ip-ranges-2026-08-22-15-17-05.json, on 2026-08-22-15-17-05: 31 days ago)")
            && r.stderr
                .contains("curl -O https://ip-ranges.amazonaws.com/ip-ranges.json")
            && r.stderr.contains("--input ip-ranges.json"),
        "{}",
        r.stderr
    );
    let r = ipfence_on("2026-09-21", &["lookup", "--provider", "aws", "3.5.140.2"]);
    assert_eq!(r.code, 0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    // Any input with a date: the 2026-07-23 file, 31 days later.
    let jul = data(AWS_JUL);
    let r = ipfence_on("2026-08-23", &["services", "-i", jul.to_str().unwrap()]);
    assert!(
        r.stderr.contains(&format!(
            "warning: {} was published 31 days ago",
            jul.display()
        )),
        "{}",
        r.stderr
    );
    let r = ipfence_on("yesterday", &["services"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("IPFENCE_NOW=\"yesterday\""),
        "{}",
        r.stderr
    );
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
    // The columns are as wide as their longest value (a provider such as digitalocean).
    let header: Vec<&str> = text
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["PROVIDER", "SERVICE", "ENTRIES", "IPV4", "IPV6", "REGIONS"],
        "{}",
        text.stdout
    );
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
        r.stderr
            .contains("no/such/dir does not exist (create it first)"),
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

/// Issue 14: lists of several providers in one matcher; a crawler list is named with
/// `NAME=PATH`; a list that does not say whose it is and has no name is refused.
#[test]
fn inputs_of_several_providers_answer_together() {
    let aws = data(AWS_NEW);
    let bot = data("google/googlebot.json");
    let cloud = data("google/cloud.json");
    let named = format!("googlebot={}", bot.display());
    let r = ipfence(
        &[
            "lookup",
            "-i",
            aws.to_str().unwrap(),
            "-i",
            &named,
            "-i",
            cloud.to_str().unwrap(),
            "3.5.140.2",
            "66.249.66.1",
            "34.1.208.1",
            "192.0.2.1",
        ],
        "",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let want = "3.5.140.2: allowed by 3.5.140.0/22 (aws: AMAZON ap-northeast-2, S3 ap-northeast-2, EC2 ap-northeast-2)\n\
                66.249.66.1: allowed by 66.249.66.0/27 (google: googlebot)\n\
                34.1.208.1: allowed by 34.1.208.0/20 (google: Google Cloud africa-south1)\n\
                192.0.2.1: not allowed\n";
    assert_eq!(r.stdout, want);
    // JSON entries carry the provider.
    let r = ipfence(&["lookup", "--json", "-i", &named, "66.249.66.1"], "");
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["match"]["entries"][0]["provider"], "google");
    assert_eq!(v["match"]["entries"][0]["service"], "googlebot");
    // --provider selects one provider's entries.
    let r = ipfence(
        &[
            "lookup",
            "-i",
            aws.to_str().unwrap(),
            "-i",
            &named,
            "--provider",
            "google",
            "3.5.140.2",
        ],
        "",
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    // A crawler list without a name: refused, saying how to name it.
    let r = ipfence(&["lookup", "-i", bot.to_str().unwrap(), "66.249.66.1"], "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&format!(
            "name it, as in --input googlebot={}",
            bot.display()
        )),
        "{}",
        r.stderr
    );
    // A name that contradicts a self-describing file is refused too.
    let r = ipfence(
        &[
            "lookup",
            "-i",
            &format!("google={}", aws.display()),
            "3.5.140.2",
        ],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("name it aws"), "{}", r.stderr);
    // JSON whose layout ipfence does not know is not guessed to be AWS.
    let r = ipfence(&["lookup", "-i", "-", "1.2.3.4"], "{\"prefixes\": []}");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("layout ipfence does not know"),
        "{}",
        r.stderr
    );
}

/// Issue 14: the embedded data holds every supported provider; `sources` lists each list
/// with its version and date.
#[test]
fn embedded_data_holds_every_provider_and_sources_lists_them() {
    let r = ipfence(&["lookup", "3.5.140.2", "66.249.66.1", "8.8.8.8"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("(aws: AMAZON ap-northeast-2"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("(google: googlebot)"), "{}", r.stdout);
    let r = ipfence(&["sources", "--json"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let aws = lines
        .iter()
        .find(|l| l["name"] == "embedded aws/ip-ranges-2026-08-22-15-17-05.json")
        .expect("the AWS snapshot is embedded");
    assert_eq!(aws["provider"], "aws");
    assert_eq!(aws["version"], "1787411825");
    assert_eq!(aws["published"], "2026-08-22-15-17-05");
    assert_eq!(aws["age_days"], 0, "tests run with IPFENCE_NOW=2026-08-22");
    let bot = lines
        .iter()
        .find(|l| l["name"] == "embedded google/googlebot.json")
        .expect("googlebot is embedded");
    // The crawler lists carry no version: their content hash stands for one.
    let hex = sha256_hex(&std::fs::read(data("google/googlebot.json")).unwrap());
    assert_eq!(bot["version"], format!("sha256:{hex}"));
    assert_eq!(bot["stale"], true);
    for p in ["aws", "google"] {
        assert!(lines.iter().any(|l| l["provider"] == p), "{p} is embedded");
    }
    // The table: every list's name starts in the same column, past the longest provider
    // name (`digitalocean`).
    let r = ipfence(&["sources"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let columns: Vec<usize> = r
        .stdout
        .lines()
        .map(|l| l.find(" embedded ").expect("a source line") + 1)
        .collect();
    assert_eq!(columns.len(), lines.len());
    assert!(
        columns.iter().all(|&c| c == "digitalocean ".len()),
        "{}",
        r.stdout
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// Every example in `--help` that selects from the embedded data names a provider,
/// service and region it has, together: `aggregate` with the example's filters exits 0.
/// (Examples that read their own `--input` are left out.)
#[test]
fn help_examples_select_what_the_embedded_data_has() {
    const FILTERS: &[&str] = &[
        "--provider",
        "-p",
        "--service",
        "-s",
        "--region",
        "-r",
        "--exclude-service",
        "--border-group",
        "--ipv4",
        "--ipv6",
    ];
    // The top level and every subcommand `ipfence --help` lists.
    let top = ipfence(&["--help"], "").stdout;
    let commands: Vec<&str> = std::iter::once("")
        .chain(
            top.lines()
                .skip_while(|l| !l.starts_with("Commands:"))
                .skip(1)
                .take_while(|l| !l.is_empty())
                .filter_map(|l| l.split_whitespace().next())
                .filter(|&c| c != "help"),
        )
        .collect();
    assert!(commands.contains(&"grep"), "{top}");
    let mut checked = 0;
    for c in commands {
        let args: Vec<&str> = [c, "--help"]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        let help = ipfence(&args, "").stdout;
        let examples = help.lines().skip_while(|l| !l.starts_with("Examples"));
        for line in examples.filter(|l| l.starts_with("  ipfence ")) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words
                .iter()
                .any(|w| ["-i", "--input", "--config"].contains(w))
            {
                continue;
            }
            let mut filter = vec!["aggregate"];
            let mut i = 0;
            while let Some(&w) = words.get(i) {
                if FILTERS.contains(&w) {
                    filter.push(w);
                    if !w.starts_with("--ipv") {
                        filter.extend(words.get(i + 1));
                        i += 1;
                    }
                }
                i += 1;
            }
            if filter.len() > 1 {
                let r = ipfence(&filter, "");
                assert_eq!(r.code, 0, "{c} --help: {line}\n{filter:?}: {}", r.stderr);
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples with filters");
}

/// A large file is read on two threads (file halves, Azure's tags in two parts, the set
/// a family per thread); where no thread can start, the answers are the same. A stack
/// size no system can map makes every thread fail to start.
#[test]
fn large_files_read_the_same_when_no_thread_can_start() {
    let azure = data("azure/ServiceTags_Public.json");
    let azure = azure.to_str().unwrap();
    for args in [
        &["services", "--input", azure][..],
        &["aggregate", "--input", azure, "--service", "AzureCloud"][..],
    ] {
        let run = |env: &[(&str, &str)]| {
            let r = ipfence_env(args, "", env);
            assert_eq!(r.code, 0, "{args:?} {env:?}: {}", r.stderr);
            r.stdout
        };
        let threads = run(&[]);
        assert!(threads.len() > 1000, "{args:?}");
        assert_eq!(
            run(&[("RUST_MIN_STACK", "100000000000000")]),
            threads,
            "{args:?}"
        );
    }
}
