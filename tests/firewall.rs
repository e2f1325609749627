//! Exported nftables, ipset and iptables files loaded into the real kernel, inside a
//! private network namespace (`unshare -n`: never the machine's own rules), and the
//! kernel's answers compared with `ipfence lookup` on real AWS data.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use ipfence_core::{IpNet, PrefixSet};
use serde_json::Value;

use crate::util::{data, ipfence, tempdir, AWS_NEW};

const AWS_MONTH_BEFORE: &str = "aws/ip-ranges-2026-07-23-16-17-05.json";

pub(crate) fn require_tools() {
    for tool in [
        "nft",
        "ipset",
        "iptables-restore",
        "ip6tables-restore",
        "iptables-legacy-restore",
        "ip6tables-legacy-restore",
        "unshare",
    ] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .unwrap()
            .status
            .success();
        assert!(
            found,
            "{tool} is missing: run scripts/setup-firewall-tools (scripts/test does)"
        );
    }
}

/// Runs `script` with `sh` in a new, private network namespace; returns stdout.
fn in_netns(dir: &Path, script: &str) -> String {
    std::fs::write(dir.join("script.sh"), script).unwrap();
    let out = Command::new("unshare")
        .args(["-n", "sh", "-e", "script.sh"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "script failed: {:.2000}\n{}",
        script,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn export(dir: &Path, file: &str, args: &[&str]) {
    let out = dir.join(file);
    let mut all = vec!["export", "--output", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let r = ipfence(&all, "");
    assert_eq!(r.code, 0, "export {args:?}: {}", r.stderr);
}

/// Addresses at every prefix edge (first, last, and their outside neighbours) of the
/// cover, plus pseudo-random ones, at least `n` in all.
fn probes(set: &PrefixSet, v6: bool, n: usize) -> Vec<IpAddr> {
    let mut out = BTreeSet::new();
    let cidrs: Vec<IpNet> = set
        .cidrs()
        .filter(|c| matches!(c, IpNet::V6(_)) == v6)
        .collect();
    for c in &cidrs {
        match c {
            IpNet::V4(c) => {
                let (a, b) = (u32::from(c.network()), u32::from(c.broadcast()));
                for x in [a, b, a.wrapping_sub(1), b.wrapping_add(1)] {
                    out.insert(IpAddr::V4(x.into()));
                }
            }
            IpNet::V6(c) => {
                let (a, b) = (u128::from(c.network()), u128::from(c.broadcast()));
                for x in [a, b, a.wrapping_sub(1), b.wrapping_add(1)] {
                    out.insert(IpAddr::V6(x.into()));
                }
            }
        }
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut i = 0usize;
    while out.len() < n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let c = cidrs[i % cidrs.len()];
        i += 1;
        // Alternate: inside a published prefix, then near it.
        match c {
            IpNet::V4(c) => {
                let span = !u32::from(c.netmask());
                let x = u32::from(c.network()) | (seed as u32 & span);
                let x = if i.is_multiple_of(2) {
                    x
                } else {
                    x.wrapping_add((seed >> 40) as u32 & 0xffff)
                };
                out.insert(IpAddr::V4(x.into()));
            }
            IpNet::V6(c) => {
                let span = !u128::from(c.netmask());
                let r = (u128::from(seed) << 64) | u128::from(seed.rotate_left(17));
                let x = u128::from(c.network()) | (r & span);
                let x = if i.is_multiple_of(2) {
                    x
                } else {
                    x.wrapping_add(u128::from(seed >> 40) << 64)
                };
                out.insert(IpAddr::V6(x.into()));
            }
        }
    }
    out.into_iter().collect()
}

/// `ipfence lookup --json` answers for `ips` with the same input and filter.
fn lookup(input: &str, filter: &[&str], ips: &[IpAddr]) -> Vec<bool> {
    let file = data(input);
    let mut args = vec!["lookup", "--json", "--input", file.to_str().unwrap()];
    args.extend_from_slice(filter);
    let stdin: String = ips.iter().map(|i| format!("{i}\n")).collect();
    let r = ipfence(&args, &stdin);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let answers: Vec<bool> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["allowed"] == true)
        .collect();
    assert_eq!(answers.len(), ips.len());
    answers
}

/// ipfence's exact set for an input and filter, read back from `aggregate`.
fn ipfence_set(input: &str, filter: &[&str]) -> PrefixSet {
    let file = data(input);
    let mut args = vec!["aggregate", "--input", file.to_str().unwrap()];
    args.extend_from_slice(filter);
    let r = ipfence(&args, "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| l.parse::<IpNet>().unwrap())
        .collect()
}

/// The kernel's contents of an nftables interval set (`nft -j list set`).
pub(crate) fn nft_set(json: &str) -> PrefixSet {
    let v: Value = serde_json::from_str(json).unwrap();
    let mut nets = Vec::new();
    for item in v["nftables"].as_array().unwrap() {
        for e in item["set"]["elem"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(s) = e.as_str() {
                nets.push(
                    format!("{s}/{}", if s.contains(':') { 128 } else { 32 })
                        .parse::<IpNet>()
                        .unwrap(),
                );
            } else if let Some(p) = e.get("prefix") {
                nets.push(
                    format!("{}/{}", p["addr"].as_str().unwrap(), p["len"])
                        .parse::<IpNet>()
                        .unwrap(),
                );
            } else {
                panic!("unexpected element (a range that is not a prefix?): {e}");
            }
        }
    }
    nets.into_iter().collect()
}

/// The kernel's contents of an ipset set (`ipset list` members).
pub(crate) fn ipset_set(listing: &str) -> PrefixSet {
    listing
        .split("Members:")
        .skip(1)
        .flat_map(|m| m.lines())
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Name:"))
        .take_while(|l| !l.starts_with("Name:"))
        .map(|l| {
            let l = l.trim();
            if l.contains('/') {
                l.to_string()
            } else {
                format!("{l}/{}", if l.contains(':') { 128 } else { 32 })
            }
            .parse::<IpNet>()
            .unwrap_or_else(|e| panic!("{l}: {e}"))
        })
        .collect()
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// One selection: load nftables, ipset and iptables files into the kernel; ask the kernel
/// about >= 2,000 addresses per family and compare with `ipfence lookup`.
fn check_selection(filter: &[&str]) {
    require_tools();
    let dir = tempdir();
    let file = data(AWS_NEW);
    let base = ["--input", file.to_str().unwrap(), "--name", "ipf"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(filter)
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    export(
        dir.path(),
        "rules.nft",
        &as_strs(&with(&["--format", "nftables"])),
    );
    export(
        dir.path(),
        "sets.ipset",
        &as_strs(&with(&["--format", "ipset"])),
    );
    let set = ipfence_set(AWS_NEW, filter);
    let mut script = String::from("nft -f rules.nft\nipset restore < sets.ipset\n");
    let mut queries = String::new();
    let mut all_probes = Vec::new();
    for v6 in [false, true] {
        let fam = if v6 { "v6" } else { "v4" };
        if set.cidrs().all(|c| matches!(c, IpNet::V6(_)) != v6) {
            continue;
        }
        let ips = probes(&set, v6, 2000);
        assert!(ips.len() >= 2000);
        for ip in &ips {
            queries.push_str(&format!("get element inet ipf ipf_{fam} {{ {ip} }}\n"));
            script.push_str(&format!("ipset test ipf-{fam} {ip} 2>/dev/null && echo 'ipset {ip} yes' || echo 'ipset {ip} no'\n"));
        }
        // iptables/ip6tables rules that match the set load for real.
        let restore = if v6 {
            "ip6tables-restore"
        } else {
            "iptables-restore"
        };
        let famflag = if v6 { "--ipv6" } else { "--ipv4" };
        let fname = format!("rules-{fam}.iptables");
        export(
            dir.path(),
            &fname,
            &as_strs(&with(&["--format", "iptables", famflag, "--ports", "443"])),
        );
        script.push_str(&format!(
            "{restore} --test --noflush < {fname}\n{restore} --noflush < {fname}\n"
        ));
        all_probes.extend(ips);
    }
    std::fs::write(dir.path().join("queries.nft"), &queries).unwrap();
    script.push_str("nft -i < queries.nft > nft-out.txt 2> nft-err.txt || true\ncat nft-out.txt; echo ==ERR==; cat nft-err.txt\n");
    script.push_str(
        "echo ==IPT==; iptables -S ipf 2>/dev/null || true; ip6tables -S ipf 2>/dev/null || true\n",
    );
    // Whole sets too, not only samples: the kernel holds exactly ipfence's cover.
    script.push_str("echo ==DUMP==; nft -j list set inet ipf ipf_v4; echo; echo ==; nft -j list set inet ipf ipf_v6; echo; echo ==; ipset list ipf-v4; echo ==; ipset list ipf-v6\n");
    let out = in_netns(dir.path(), &script);
    let expected = lookup(AWS_NEW, filter, &all_probes);
    // ipset: one line per address.
    let ipset_yes: BTreeSet<String> = out
        .lines()
        .filter_map(|l| {
            l.strip_suffix(" yes")?
                .strip_prefix("ipset ")
                .map(String::from)
        })
        .collect();
    let ipset_no = out
        .lines()
        .filter(|l| l.starts_with("ipset ") && l.ends_with(" no"))
        .count();
    assert_eq!(ipset_yes.len() + ipset_no, all_probes.len());
    // nft: every query answers either with the containing element (stdout) or an error
    // that echoes the query (stderr).
    let (nft_out, rest) = out.split_once("==ERR==").unwrap();
    let nft_err = rest.split("==IPT==").next().unwrap();
    let nft_found = nft_out.matches("table inet ipf").count();
    let nft_missing: BTreeSet<String> = nft_err
        .lines()
        .filter_map(|l| {
            l.strip_prefix("get element inet ipf ipf_v")
                .and_then(|r| r.split_once("{ "))
                .map(|(_, r)| r.trim_end_matches(" }").to_string())
        })
        .collect();
    let mut allowed = 0;
    for (ip, want) in all_probes.iter().zip(&expected) {
        let s = ip.to_string();
        assert_eq!(
            ipset_yes.contains(&s),
            *want,
            "ipset test {s} disagrees with ipfence lookup ({filter:?})"
        );
        assert_eq!(
            !nft_missing.contains(&s),
            *want,
            "nft get element {s} disagrees with ipfence lookup ({filter:?})"
        );
        allowed += usize::from(*want);
    }
    assert_eq!(nft_found, allowed, "nft found as many as ipfence allows");
    assert!(
        allowed > 500 && allowed < all_probes.len() - 500,
        "probes cover both answers: {allowed} of {}",
        all_probes.len()
    );
    let dump: Vec<&str> = out
        .split("==DUMP==")
        .nth(1)
        .unwrap()
        .split("\n==\n")
        .collect();
    assert_eq!(dump.len(), 4);
    let cover: BTreeSet<IpNet> = set.cidrs().collect();
    let nft_cover: BTreeSet<IpNet> = nft_set(dump[0]).union(&nft_set(dump[1])).cidrs().collect();
    assert_eq!(nft_cover, cover, "the kernel's nft sets ({filter:?})");
    let ipset_cover: BTreeSet<IpNet> = ipset_set(dump[2])
        .union(&ipset_set(dump[3]))
        .cidrs()
        .collect();
    assert_eq!(ipset_cover, cover, "the kernel's ipset sets ({filter:?})");
    let ipt = out.split("==IPT==").nth(1).unwrap();
    assert!(
        ipt.contains("--match-set ipf-v"),
        "the iptables rules loaded: {ipt}"
    );
}

#[test]
fn kernel_agrees_api_gateway() {
    check_selection(&["--service", "API_GATEWAY"]);
}

#[test]
fn kernel_agrees_cloudfront_both_families() {
    check_selection(&["--service", "CLOUDFRONT"]);
}

#[test]
fn kernel_agrees_s3_us_east_1() {
    check_selection(&["--service", "S3", "--region", "us-east-1"]);
}

#[test]
fn kernel_agrees_ec2_eu_west_1() {
    check_selection(&["--service", "EC2", "--region", "eu-west-1"]);
}

/// Load version N, apply ipfence's incremental update to N+1: the kernel's sets equal a
/// fresh load of N+1, for nftables and ipset, on a real month of changes.
#[test]
fn incremental_updates_equal_a_fresh_load() {
    require_tools();
    for (old, filter) in [
        (AWS_MONTH_BEFORE, ["--service", "EC2"]),
        (
            "aws/ip-ranges-2026-08-22-11-57-05.json",
            ["--service", "AMAZON"],
        ),
    ] {
        let dir = tempdir();
        let (oldf, newf) = (data(old), data(AWS_NEW));
        let (o, n) = (oldf.to_str().unwrap(), newf.to_str().unwrap());
        let a = |file: &str, args: &[&str]| {
            let mut all = vec!["--name", "ipf"];
            all.extend_from_slice(&filter);
            all.extend_from_slice(args);
            export(dir.path(), file, &all);
        };
        a("old.nft", &["--format", "nftables", "--input", o]);
        a("new.nft", &["--format", "nftables", "--input", n]);
        a(
            "update.nft",
            &["--format", "nftables", "--input", n, "--diff-from", o],
        );
        a("old.ipset", &["--format", "ipset", "--input", o]);
        a("new.ipset", &["--format", "ipset", "--input", n]);
        a(
            "update.ipset",
            &["--format", "ipset", "--input", n, "--diff-from", o],
        );
        let update = std::fs::read_to_string(dir.path().join("update.nft")).unwrap();
        assert!(
            update.contains("add element"),
            "a real change: {update:.300}"
        );
        let dump = "nft -j list set inet ipf ipf_v4; echo; echo ==; nft -j list set inet ipf ipf_v6; echo; echo ==; ipset list ipf-v4; echo ==; ipset list ipf-v6";
        let updated = in_netns(dir.path(), &format!("nft -f old.nft\nnft -f update.nft\nipset restore < old.ipset\nipset restore < update.ipset\n{dump}"));
        let fresh = in_netns(
            dir.path(),
            &format!("nft -f new.nft\nipset restore < new.ipset\n{dump}"),
        );
        let parts = |s: &str| -> Vec<PrefixSet> {
            let p: Vec<&str> = s.split("\n==\n").collect();
            vec![
                nft_set(p[0]),
                nft_set(p[1]),
                ipset_set(p[2]),
                ipset_set(p[3]),
            ]
        };
        let (u, f) = (parts(&updated), parts(&fresh));
        let want = ipfence_set(AWS_NEW, &filter);
        assert_eq!(u, f, "{old}: updated kernel sets differ from a fresh load");
        assert_eq!(
            u[0].union(&u[1]),
            want,
            "{old}: the kernel's nft sets equal ipfence's set"
        );
        assert_eq!(
            u[2].union(&u[3]),
            want,
            "{old}: the kernel's ipset sets equal ipfence's set"
        );
    }
}

/// The other styles in the kernel: nftables `replace` over an older full load and the
/// `sets` fragment included in a table, ipset `create` then `replace` (no temporary set
/// left), iptables `plain` for both families, reloading a full file, and an update with
/// nothing to change.
#[test]
fn kernel_loads_every_style() {
    require_tools();
    let dir = tempdir();
    let (oldf, newf) = (data(AWS_MONTH_BEFORE), data(AWS_NEW));
    let (o, n) = (oldf.to_str().unwrap(), newf.to_str().unwrap());
    let filter = ["--service", "EFS"];
    let a = |file: &str, args: &[&str]| {
        let mut all = vec!["--name", "ipf"];
        all.extend_from_slice(&filter);
        all.extend_from_slice(args);
        export(dir.path(), file, &all);
    };
    a("old.nft", &["--format", "nftables", "--input", o]);
    a("new.nft", &["--format", "nftables", "--input", n]);
    a(
        "replace.nft",
        &["--format", "nftables", "--style", "replace", "--input", n],
    );
    a(
        "sets.nft",
        &["--format", "nftables", "--style", "sets", "--input", n],
    );
    a(
        "same.nft",
        &["--format", "nftables", "--input", n, "--diff-from", n],
    );
    a(
        "old.ipset",
        &["--format", "ipset", "--style", "create", "--input", o],
    );
    a("new.ipset", &["--format", "ipset", "--input", n]);
    a(
        "same.ipset",
        &["--format", "ipset", "--input", n, "--diff-from", n],
    );
    for fam in ["4", "6"] {
        a(
            &format!("plain-v{fam}.rules"),
            &[
                "--format",
                "iptables",
                "--style",
                "plain",
                "--input",
                n,
                &format!("--ipv{fam}"),
                "--ports",
                "22",
            ],
        );
    }
    for fam in ["4", "6"] {
        a(
            &format!("set-v{fam}.rules"),
            &[
                "--format",
                "iptables",
                "--input",
                n,
                &format!("--ipv{fam}"),
                "--ports",
                "443",
            ],
        );
    }
    a(
        "ports.nft",
        &[
            "--format",
            "nftables",
            "--input",
            n,
            "--ports",
            "443,8443",
            "--protocol",
            "udp",
        ],
    );
    let wrapper = format!(
        "table inet ipf {{\n\tinclude \"{}\"\n}}\n",
        dir.path().join("sets.nft").display()
    );
    std::fs::write(dir.path().join("wrapper.nft"), wrapper).unwrap();
    let dump = "nft -j list set inet ipf ipf_v4; echo; echo ==; nft -j list set inet ipf ipf_v6; echo; echo ==; ipset list ipf-v4; echo ==; ipset list ipf-v6; echo ==";
    let script = format!(
        "nft -f old.nft\nnft -f replace.nft\nipset restore < old.ipset\nipset restore < new.ipset\n{dump}\n\
         nft delete table inet ipf\nnft -f wrapper.nft\nnft -f new.nft\nnft -f new.nft\nnft -f same.nft\nipset restore < same.ipset\n{dump}\n\
         ipset list -n; echo ==\n\
         iptables-restore --test --noflush < plain-v4.rules\niptables-restore --noflush < plain-v4.rules\n\
         ip6tables-restore --test --noflush < plain-v6.rules\nip6tables-restore --noflush < plain-v6.rules\n\
         iptables -S ipf; echo ==; ip6tables -S ipf; echo ==\n\
         nft -f ports.nft\nnft list chain inet ipf input; echo ==\n\
         iptables-legacy-restore --test --noflush < plain-v4.rules\niptables-legacy-restore --noflush < plain-v4.rules\n\
         ip6tables-legacy-restore --noflush < plain-v6.rules\n\
         iptables-legacy -S ipf; echo ==; ip6tables-legacy -S ipf; echo ==\n\
         iptables-legacy-restore --noflush < set-v4.rules\nip6tables-legacy-restore --noflush < set-v6.rules\n\
         iptables-legacy -S ipf; echo ==; ip6tables-legacy -S ipf\n"
    );
    let out = in_netns(dir.path(), &script);
    let p: Vec<&str> = out.split("\n==\n").collect();
    assert_eq!(p.len(), 16, "{out:.2000}");
    let want = ipfence_set(AWS_NEW, &filter);
    let old = ipfence_set(AWS_MONTH_BEFORE, &filter);
    assert_ne!(want, old, "the two versions differ for this selection");
    for (at, what) in [
        (0, "nft replace over an old load"),
        (4, "nft sets, then full reloads and an empty update"),
    ] {
        assert_eq!(nft_set(p[at]).union(&nft_set(p[at + 1])), want, "{what}");
    }
    for (at, what) in [
        (2, "ipset replace over create"),
        (6, "ipset after an empty update"),
    ] {
        assert_eq!(
            ipset_set(p[at]).union(&ipset_set(p[at + 1])),
            want,
            "{what}"
        );
    }
    let mut names: Vec<&str> = p[8].lines().collect();
    names.sort_unstable();
    assert_eq!(names, ["ipf-v4", "ipf-v6"], "no temporary set is left");
    // The same files through the legacy (x_tables) backend too: 12, 13 plain; 14, 15 set.
    for (at, fam) in [
        (9, want.ipv4()),
        (10, want.ipv6()),
        (12, want.ipv4()),
        (13, want.ipv6()),
    ] {
        let rules: PrefixSet = p[at]
            .lines()
            .filter_map(|l| l.strip_prefix("-A ipf -s "))
            .map(|r| r.split(' ').next().unwrap().parse::<IpNet>().unwrap())
            .collect();
        assert_eq!(rules, fam, "the plain rules in the kernel");
        assert_eq!(
            p[at].matches("-A ipf -s ").count(),
            fam.cidr_count(),
            "one rule per CIDR"
        );
        assert!(p[at].contains("--dports 22 -j DROP"), "{}", p[at]);
        assert!(!p[at].contains("ACCEPT"), "the chain only drops: {}", p[at]);
    }
    for (at, fam) in [(14, "4"), (15, "6")] {
        assert!(
            p[at].contains(&format!(
                "-A ipf -p tcp -m multiport --dports 443 -m set ! --match-set ipf-v{fam} src -j DROP"
            )),
            "{}",
            p[at]
        );
        assert!(
            !p[at].contains("-s "),
            "declaring the chain flushed it: {}",
            p[at]
        );
    }
    // The port rules as the kernel lists them back.
    for rule in [
        "ip saddr != @ipf_v4 udp dport { 443, 8443 } counter packets 0 bytes 0 drop",
        "ip6 saddr != @ipf_v6 udp dport { 443, 8443 } counter packets 0 bytes 0 drop",
    ] {
        assert!(p[11].contains(rule), "{rule}: {}", p[11]);
    }
}

/// `ipfence export` as a user runs it: the embedded snapshot, stdout, the header.
#[test]
fn export_runs_on_the_embedded_snapshot() {
    let r = ipfence(
        &["export", "--format", "nftables", "--service", "API_GATEWAY"],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("using the embedded data"), "{}", r.stderr);
    assert!(r.stdout.contains("createDate 2026-08-22-15-17-05"));
    assert!(r.stdout.contains("# filter: service=API_GATEWAY\n"));
    let listed: PrefixSet = r
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_suffix(','))
        .map(|c| c.parse::<IpNet>().unwrap())
        .collect();
    // The embedded snapshot is this file (README).
    let want = ipfence_set(AWS_NEW, &["--service", "API_GATEWAY"]);
    assert!(!want.is_empty());
    assert_eq!(listed, want);
}

#[test]
fn export_writes_output_files_and_refuses_hostile_names() {
    let dir = tempdir();
    let file = data(AWS_NEW);
    let out = dir.path().join("rules.txt");
    let base = |format: &'static str, name: &'static str| -> Vec<String> {
        [
            "export",
            "--format",
            format,
            "--name",
            name,
            "--ipv4",
            "--service",
            "S3",
            "--input",
            file.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    for format in ["nftables", "ipset", "iptables", "pf"] {
        let r = ipfence(&as_strs(&base(format, "ok_name")), "");
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert!(
            r.stdout.is_empty(),
            "{format}: written to the file, not stdout"
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with("# generated by ipfence "), "{format}");
        std::fs::remove_file(&out).unwrap();
        for name in ["a b", "a\nb", "\"a", "é"] {
            let r = ipfence(&as_strs(&base(format, name)), "");
            assert_eq!(r.code, 2, "{format} took {name:?}");
            assert!(
                r.stderr.starts_with(&format!("ipfence: {format}: name ")),
                "{format} {name:?}: {}",
                r.stderr
            );
            assert!(!out.exists(), "{format}: nothing written for {name:?}");
        }
    }
    let r = ipfence(
        &[
            "export",
            "--format",
            "iptables",
            "--ipv4",
            "--service",
            "S3",
            "--input",
            file.to_str().unwrap(),
            "--diff-from",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--format ipset with --diff-from"),
        "{}",
        r.stderr
    );
}

#[test]
fn export_help_teaches() {
    let r = ipfence(&["export", "--help"], "");
    assert_eq!(r.code, 0);
    for want in [
        "Examples:",
        "--diff-from",
        "ipset restore",
        "Styles:",
        "--summarize",
        "--split",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
}

/// A family over ipset's default maxelem (65,536) loads and reloads in the kernel, and
/// the user is told why the set is created bigger.
#[test]
fn kernel_takes_an_ipset_family_over_the_default_maxelem() {
    require_tools();
    let dir = tempdir();
    // Every other address of 10.0.0.0/15: 65,537 CIDRs that cannot merge.
    let list: String = (0..65_537u32)
        .map(|i| format!("{}\n", std::net::Ipv4Addr::from(0x0a00_0000 + 2 * i)))
        .collect();
    let input = dir.path().join("big.txt");
    std::fs::write(&input, list).unwrap();
    let out = dir.path().join("big.ipset");
    let r = ipfence(
        &[
            "export",
            "--format",
            "ipset",
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("maxelem 1048576"), "{}", r.stderr);
    let listing = in_netns(
        dir.path(),
        "ipset restore < big.ipset\nipset restore < big.ipset\nipset list ipfence-v4\n",
    );
    assert!(listing.contains("maxelem 1048576"), "{listing:.400}");
    let kernel = ipset_set(&listing);
    assert_eq!(kernel.cidr_count(), 65_537);
    assert_eq!(kernel, ipfence_set_of_file(&input));
}

fn ipfence_set_of_file(path: &Path) -> PrefixSet {
    let r = ipfence(&["aggregate", "--input", path.to_str().unwrap()], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| l.parse::<IpNet>().unwrap())
        .collect()
}

/// A service that is new in the newer file (IOT_CORE: absent on 2026-07-23) still gets
/// its update: the old version simply held none of it, so everything is added.
#[test]
fn export_update_for_a_service_the_old_file_lacks() {
    let (oldf, newf) = (data(AWS_MONTH_BEFORE), data(AWS_NEW));
    let args = |extra: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "export",
            "--format",
            "ipset",
            "--service",
            "IOT_CORE",
            "--input",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(newf.to_str().unwrap().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let mut with_old = args(&["--diff-from"]);
    with_old.push(oldf.to_str().unwrap().to_string());
    let r = ipfence(&as_strs(&with_old), "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let added: PrefixSet = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("add ipfence-v"))
        .map(|l| l.split(' ').nth(1).unwrap().parse::<IpNet>().unwrap())
        .collect();
    assert!(!r.stdout.lines().any(|l| l.starts_with("del ")));
    let want = ipfence_set(AWS_NEW, &["--service", "IOT_CORE"]);
    assert!(!want.is_empty());
    assert_eq!(added, want);
    // A name in neither file is still refused, with the list of known ones.
    let mut typo = with_old.clone();
    typo[4] = "IOT_CORR".into();
    let r = ipfence(&as_strs(&typo), "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown service \"IOT_CORR\""),
        "{}",
        r.stderr
    );
}

/// Connects to 127.0.0.1 and ::1 on each port, with a listener on each, inside the
/// namespace; prints `ADDR PORT open|blocked` (a drop shows as a timeout).
const PROBE: &str = r#"python3 - <<'PY'
import socket
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    for port in (443, 8080):
        srv = socket.socket(fam)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen()
        c = socket.socket(fam)
        c.settimeout(0.5)
        try:
            c.connect((addr, port))
            print(addr, port, "open")
        except OSError:
            print(addr, port, "blocked")
        c.close()
        srv.close()
PY
"#;

/// Issue 13: an `--ipv4 --ports 443` nftables file drops IPv4 only, and only from
/// sources outside the set; the default file (no ports) changes no traffic. Checked on
/// the kernel's own listing and with real connections over lo.
#[test]
fn nftables_files_block_only_what_they_say() {
    require_tools();
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("lo.txt"), "127.0.0.0/8\n::1/128\n").unwrap();
    std::fs::write(d.join("other.txt"), "10.0.0.0/8\n2001:db8::/32\n").unwrap();
    let s3 = data(AWS_NEW);
    let (lo, other) = (d.join("lo.txt"), d.join("other.txt"));
    let (lo, other) = (lo.to_str().unwrap(), other.to_str().unwrap());
    export(
        d,
        "v4.nft",
        &[
            "--format",
            "nftables",
            "--name",
            "ipf",
            "--input",
            s3.to_str().unwrap(),
            "--service",
            "S3",
            "--ipv4",
            "--ports",
            "443",
        ],
    );
    export(
        d,
        "other-v4.nft",
        &[
            "--format", "nftables", "--name", "ipf", "--input", other, "--ipv4", "--ports", "443",
        ],
    );
    export(
        d,
        "lo-v4.nft",
        &[
            "--format", "nftables", "--name", "ipf", "--input", lo, "--ipv4", "--ports", "443",
        ],
    );
    export(
        d,
        "other-both.nft",
        &[
            "--format", "nftables", "--name", "ipf", "--input", other, "--ports", "443",
        ],
    );
    export(
        d,
        "default.nft",
        &["--format", "nftables", "--name", "ipf", "--input", other],
    );
    let text = std::fs::read_to_string(d.join("v4.nft")).unwrap();
    assert!(text.contains("# enforces: only the sources in ipf_v4 may reach tcp dport { 443 } over IPv4; IPv6 is not filtered"), "{text}");
    let script = format!(
        "ip link set lo up\n\
         nft -f v4.nft\nnft -j list ruleset\necho\necho ==\n\
         nft -f other-v4.nft\n{PROBE}echo ==\n\
         nft -f lo-v4.nft\n{PROBE}echo ==\n\
         nft -f other-both.nft\n{PROBE}echo ==\n\
         nft -f default.nft\nnft -j list ruleset\necho\necho ==\n{PROBE}"
    );
    let out = in_netns(d, &script);
    let p: Vec<&str> = out.split("\n==\n").collect();
    assert_eq!(p.len(), 6, "{out}");
    // The kernel's rules: every drop matches IPv4 only (nfproto ipv4 and ip saddr).
    let json: Value = serde_json::from_str(p[0].trim()).unwrap();
    let rules: Vec<&Value> = json["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.get("rule"))
        .collect();
    assert_eq!(rules.len(), 1, "{json}");
    for r in &rules {
        let expr = r["expr"].to_string();
        // `ip saddr` in an inet table matches IPv4 packets only.
        assert!(expr.contains(r#"{"drop":null}"#), "{expr}");
        assert!(
            expr.contains(r#""field":"saddr","protocol":"ip"}"#),
            "{expr}"
        );
        assert!(!expr.contains("ip6"), "no rule drops IPv6: {expr}");
    }
    let lines = |s: &str| -> Vec<String> { s.trim().lines().map(String::from).collect() };
    assert_eq!(
        lines(p[1]),
        [
            "127.0.0.1 443 blocked",
            "127.0.0.1 8080 open",
            "::1 443 open",
            "::1 8080 open"
        ],
        "other sources, IPv4 exported: only IPv4 to 443 is dropped"
    );
    assert_eq!(
        lines(p[2]),
        [
            "127.0.0.1 443 open",
            "127.0.0.1 8080 open",
            "::1 443 open",
            "::1 8080 open"
        ],
        "a listed source passes"
    );
    assert_eq!(
        lines(p[3]),
        [
            "127.0.0.1 443 blocked",
            "127.0.0.1 8080 open",
            "::1 443 blocked",
            "::1 8080 open"
        ],
        "both families exported: both dropped from other sources"
    );
    let json: Value = serde_json::from_str(p[4].trim()).unwrap();
    let objects = json["nftables"].as_array().unwrap();
    assert!(
        objects
            .iter()
            .all(|o| o.get("rule").is_none() && o.get("chain").is_none()),
        "the default file holds sets only: {json}"
    );
    assert_eq!(
        lines(p[5]),
        [
            "127.0.0.1 443 open",
            "127.0.0.1 8080 open",
            "::1 443 open",
            "::1 8080 open"
        ],
        "the default file changes no traffic"
    );
}

/// Issue 13: ipfence's name rules agree with the tools themselves. Each name is fed to
/// the real nft, ipset and iptables (a file of the shape ipfence writes) and to
/// `ipfence export --name`; both must accept it or both refuse it.
#[test]
fn name_rules_agree_with_the_real_tools() {
    require_tools();
    let dir = tempdir();
    let d = dir.path();
    let long = |n: usize| "a".repeat(n);
    let nft: Vec<String> = [
        "cf-edge", "_x", ".x", "a/b", "a.b", "input", "x1", "1abc", "-ab", "tcp", "table",
        "counter", "drop", "ip", "set", "a\\b", "a;b", "a{b", "a\"b", "a b",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([long(252), long(253)])
    .collect();
    let ipset: Vec<String> = [
        "1abc", "cf-edge", "a;b", "-ab", "#ab", "a'b", "a\\b", "a,b", "a!b", "a\"b", "a b",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([long(24), long(25)])
    .collect();
    let iptables: Vec<String> = [
        "1abc", "cf-edge", "a.b", "a:b", "-ab", "!ab", "ACCEPT", "DROP", "RETURN", "a\"b", "a b",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([long(24), long(25)])
    .collect();
    let mut script = String::new();
    for (i, n) in nft.iter().enumerate() {
        std::fs::write(
            d.join(format!("nft-{i}.nft")),
            format!(
                "table inet {n} {{\n\tset {n}_v4 {{\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}}\n\
                 \tchain input {{\n\t\ttype filter hook input priority 0; policy accept;\n\
                 \t\tip saddr != @{n}_v4 tcp dport {{ 443 }} counter drop\n\t}}\n}}\n\
                 delete table inet {n}\n"
            ),
        )
        .unwrap();
        script.push_str(&format!(
            "nft -f nft-{i}.nft 2>/dev/null && echo 'nft {i} ok' || echo 'nft {i} no'\n"
        ));
    }
    for (i, n) in ipset.iter().enumerate() {
        std::fs::write(
            d.join(format!("ipset-{i}.txt")),
            format!(
                "create {n}-v4-tmp hash:net family inet\ncreate {n}-v6 hash:net family inet6\n"
            ),
        )
        .unwrap();
        script.push_str(&format!(
            "ipset restore < ipset-{i}.txt 2>/dev/null && echo 'ipset {i} ok' || echo 'ipset {i} no'\n"
        ));
    }
    for (i, n) in iptables.iter().enumerate() {
        std::fs::write(
            d.join(format!("ipt-{i}.txt")),
            // The set as `--format ipset` loads it, through its temporary twin.
            format!("create {n}-v4 hash:net family inet -exist\ncreate {n}-v4-tmp hash:net family inet -exist\n"),
        )
        .unwrap();
        std::fs::write(
            d.join(format!("ipt-{i}.rules")),
            format!(
                "*filter\n:{n} - [0:0]\n-A {n} -p tcp -m multiport --dports 443 -m set ! --match-set {n}-v4 src -j DROP\nCOMMIT\n"
            ),
        )
        .unwrap();
        script.push_str(&format!(
            "(ipset restore < ipt-{i}.txt && iptables-restore --noflush < ipt-{i}.rules) 2>/dev/null && echo 'iptables {i} ok' || echo 'iptables {i} no'\n"
        ));
    }
    let out = in_netns(d, &script);
    let input = d.join("in.txt");
    std::fs::write(&input, "3.5.140.0/22\n").unwrap();
    let mut checked = 0;
    for (tool, names) in [("nft", &nft), ("ipset", &ipset), ("iptables", &iptables)] {
        let format = if tool == "nft" { "nftables" } else { tool };
        for (i, n) in names.iter().enumerate() {
            let tool_ok = out.contains(&format!("{tool} {i} ok\n"));
            assert!(
                tool_ok || out.contains(&format!("{tool} {i} no\n")),
                "{out}"
            );
            // `--name=-ab`: a value that starts with '-' is not read as a flag.
            let name_arg = format!("--name={n}");
            let r = ipfence(
                &[
                    "export",
                    "--format",
                    format,
                    &name_arg,
                    "--input",
                    input.to_str().unwrap(),
                ],
                "",
            );
            assert_eq!(
                r.code == 0,
                tool_ok,
                "{tool} {} {n:?}, ipfence: {}",
                if tool_ok { "accepts" } else { "refuses" },
                r.stderr
            );
            checked += 1;
        }
    }
    assert_eq!(checked, nft.len() + ipset.len() + iptables.len());
}
