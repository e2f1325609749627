//! Golden files for every format and style, on a small readable set, plus hostile names
//! and hostile header text for every format. Regenerate with `IPFENCE_BLESS=1`.

use std::path::PathBuf;

use ipfence_core::{IpNet, PrefixSet, SourceInfo};
use ipfence_exporters::{export, Error, Format, Header, Options, PortRange, Request};

fn set(list: &[&str]) -> PrefixSet {
    list.iter().map(|s| s.parse::<IpNet>().unwrap()).collect()
}

fn sources() -> Vec<SourceInfo> {
    vec![SourceInfo {
        name: "ip-ranges.json".into(),
        format: "aws".into(),
        provider: "aws".into(),
        sync_token: Some("1787411825".into()),
        create_date: Some("2026-08-22-15-17-05".into()),
    }]
}

fn old_set() -> PrefixSet {
    set(&["3.5.140.0/22", "13.32.0.0/15", "2600:9000::/28"])
}

fn new_set() -> PrefixSet {
    set(&[
        "3.5.140.0/22",
        "1.178.86.0/24",
        "13.32.0.0/16",
        "2600:9000::/28",
        "2a05:d000::/25",
    ])
}

fn render(
    format: Format,
    style: Option<&str>,
    set: &PrefixSet,
    old: Option<&PrefixSet>,
    opts: Options,
) -> Result<String, Error> {
    let srcs = sources();
    let options = Options {
        style: style.map(String::from),
        ..opts
    };
    let req = Request {
        set,
        old,
        header: Header {
            sources: &srcs,
            filter: "service=EXAMPLE",
        },
        options: &options,
    };
    export(format, &req).map(|o| o.text)
}

fn check_golden(file: &str, text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file);
    if std::env::var_os("IPFENCE_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{}: missing; run with IPFENCE_BLESS=1", path.display()));
    assert_eq!(
        text, want,
        "{file} differs from its golden file (IPFENCE_BLESS=1 to accept after review)"
    );
}

#[test]
fn golden_files() {
    let (old, new) = (old_set(), new_set());
    let v4 = new.ipv4();
    let empty = PrefixSet::new();
    let ports = Options {
        ports: vec![
            PortRange::from(443),
            PortRange {
                first: 8443,
                last: 8445,
            },
        ],
        ..Options::default()
    };
    type Case<'a> = (
        &'a str,
        Format,
        Option<&'a str>,
        &'a PrefixSet,
        Option<&'a PrefixSet>,
        Options,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "nftables-full.nft",
            Format::Nftables,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "nftables-full-ports.nft",
            Format::Nftables,
            None,
            &new,
            None,
            ports.clone(),
        ),
        (
            "nftables-full-ports-v4.nft",
            Format::Nftables,
            None,
            &v4,
            None,
            ports.clone(),
        ),
        (
            "nftables-sets.nft",
            Format::Nftables,
            Some("sets"),
            &new,
            None,
            Options::default(),
        ),
        (
            "nftables-replace.nft",
            Format::Nftables,
            Some("replace"),
            &new,
            None,
            Options::default(),
        ),
        (
            "nftables-update.nft",
            Format::Nftables,
            None,
            &new,
            Some(&old),
            Options::default(),
        ),
        (
            "ipset-replace.ipset",
            Format::Ipset,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "ipset-create.ipset",
            Format::Ipset,
            Some("create"),
            &new,
            None,
            Options::default(),
        ),
        (
            "ipset-update.ipset",
            Format::Ipset,
            None,
            &new,
            Some(&old),
            Options::default(),
        ),
        (
            "iptables-set.rules",
            Format::Iptables,
            None,
            &v4,
            None,
            ports.clone(),
        ),
        (
            "iptables-plain.rules",
            Format::Iptables,
            Some("plain"),
            &v4,
            None,
            Options::default(),
        ),
        (
            "pf-conf.conf",
            Format::Pf,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "pf-conf-ports.conf",
            Format::Pf,
            None,
            &new,
            None,
            ports.clone(),
        ),
        (
            "pf-table.txt",
            Format::Pf,
            Some("table"),
            &new,
            None,
            Options::default(),
        ),
        (
            "pf-update.sh",
            Format::Pf,
            None,
            &new,
            Some(&old),
            Options::default(),
        ),
        (
            "nginx-access.conf",
            Format::Nginx,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "nginx-geo.conf",
            Format::Nginx,
            Some("geo"),
            &new,
            None,
            Options::default(),
        ),
        (
            "nginx-real-ip.conf",
            Format::Nginx,
            Some("real-ip"),
            &new,
            None,
            Options::default(),
        ),
        (
            "apache-require.conf",
            Format::Apache,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "apache-remote-ip.conf",
            Format::Apache,
            Some("remote-ip"),
            &new,
            None,
            Options::default(),
        ),
        (
            "haproxy.lst",
            Format::Haproxy,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "caddy-matcher.caddy",
            Format::Caddy,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "caddy-trusted-proxies.caddy",
            Format::Caddy,
            Some("trusted-proxies"),
            &new,
            None,
            Options::default(),
        ),
        (
            "kubernetes-ingress-ports.yaml",
            Format::Kubernetes,
            None,
            &new,
            None,
            ports.clone(),
        ),
        (
            "kubernetes-egress-split.yaml",
            Format::Kubernetes,
            Some("egress"),
            &new,
            None,
            Options {
                max_entries: Some(2),
                ..Options::default()
            },
        ),
        (
            "kubernetes-empty.yaml",
            Format::Kubernetes,
            None,
            &empty,
            None,
            Options::default(),
        ),
        (
            "calico.yaml",
            Format::Calico,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "cilium.yaml",
            Format::Cilium,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "mikrotik.rsc",
            Format::Mikrotik,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "mikrotik-update.rsc",
            Format::Mikrotik,
            None,
            &new,
            Some(&old),
            Options::default(),
        ),
        (
            "crowdsec.yaml",
            Format::Crowdsec,
            None,
            &new,
            None,
            Options::default(),
        ),
        (
            "fail2ban.local",
            Format::Fail2ban,
            None,
            &new,
            None,
            Options {
                name: "DEFAULT".into(),
                ..Options::default()
            },
        ),
    ];
    for (file, format, style, set, old, opts) in cases {
        let text = render(format, style, set, old, opts).unwrap_or_else(|e| panic!("{file}: {e}"));
        check_golden(file, &text);
    }
}

#[test]
fn pf_table_file_lines_are_cidrs() {
    let text = render(
        Format::Pf,
        Some("table"),
        &new_set(),
        None,
        Options::default(),
    )
    .unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), new_set().cidr_count());
    for l in lines {
        let n: IpNet = l.parse().unwrap_or_else(|e| panic!("{l:?}: {e}"));
        assert_eq!(n, n.trunc(), "{l}");
    }
}

#[test]
fn hostile_names_are_rejected_by_every_firewall_format() {
    let s = new_set();
    let v4 = s.ipv4();
    // Blanks, quotes, line ends and non-ASCII break every file; the rest break the
    // grammar of nft and pf (names each tool accepts are in tests/firewall.rs).
    let everywhere = ["a b", "a\"b", "a\nb", "a\rb", "ré", ""];
    let grammar = ["a'b", "a{b", "a}b", "a;b", "a$(id)", "a\\b", "a#b", "-a"];
    let cases = everywhere
        .iter()
        .flat_map(|n| {
            [
                Format::Nftables,
                Format::Ipset,
                Format::Iptables,
                Format::Pf,
            ]
            .map(|f| (*n, f))
        })
        .chain(
            grammar
                .iter()
                .flat_map(|n| [Format::Nftables, Format::Pf].map(|f| (*n, f))),
        )
        .chain([("-a", Format::Iptables), ("!a", Format::Iptables)]);
    for (name, format) in cases {
        {
            let opts = Options {
                name: name.into(),
                ..Options::default()
            };
            let set = if format == Format::Iptables { &v4 } else { &s };
            match render(format, None, set, None, opts) {
                Err(Error::Name { .. }) => {}
                other => panic!("{format} accepted name {name:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn hostile_header_text_stays_in_its_comment() {
    let srcs = vec![SourceInfo {
        name: "evil\n}\ntable inet x { chain c { type filter hook input priority 0; policy drop; } }\n#".into(),
        format: "aws".into(),
        provider: "aws".into(),
        sync_token: Some("1\nflush ruleset".into()),
        create_date: None,
    }];
    let options = Options::default();
    let s = new_set();
    for format in [Format::Nftables, Format::Ipset, Format::Pf] {
        let req = Request {
            set: &s,
            old: None,
            header: Header {
                sources: &srcs,
                filter: "x\ny",
            },
            options: &options,
        };
        let text = export(format, &req).unwrap().text;
        for line in text.lines() {
            assert!(
                !line.contains("flush ruleset") || line.starts_with('#'),
                "{format}: {line}"
            );
            assert!(
                !line.contains("policy drop") || line.starts_with('#'),
                "{format}: {line}"
            );
        }
    }
}

#[test]
fn options_that_do_not_fit_are_refused() {
    let s = new_set();
    let bad_style = render(Format::Nftables, Some("xml"), &s, None, Options::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        bad_style,
        "nftables: unknown style \"xml\": nftables has full, sets, replace"
    );
    let both = render(Format::Iptables, None, &s, None, Options::default())
        .unwrap_err()
        .to_string();
    assert!(both.contains("select one with --ipv4 or --ipv6"), "{both}");
    let proto = Options {
        ports: vec![443.into()],
        protocol: "tcp; drop".into(),
        ..Options::default()
    };
    assert!(render(Format::Nftables, None, &s, None, proto.clone()).is_err());
    assert!(render(Format::Iptables, None, &s.ipv4(), None, proto).is_err());
    let plain = Options {
        max_entries: Some(2),
        ..Options::default()
    };
    assert!(
        render(Format::Iptables, Some("plain"), &s.ipv4(), None, plain)
            .unwrap_err()
            .to_string()
            .contains("more than the 2")
    );
    let all = set(&["0.0.0.0/0"]);
    assert!(render(Format::Ipset, None, &all, None, Options::default())
        .unwrap_err()
        .to_string()
        .contains("hash:net cannot hold a /0"));
}

/// ipset's `maxelem` is fixed (a live set must accept the next `create -exist`), and a
/// family over ipset's default gets a bigger one, with a note; one past that is refused.
#[test]
fn big_ipset_families_get_a_bigger_maxelem() {
    // Every other address: no two CIDRs merge, so the cover has exactly n of them.
    let spaced = |n: u32| -> PrefixSet {
        let ranges = (0..n)
            .map(|i| (0x0a00_0000 + 2 * i, 0x0a00_0000 + 2 * i))
            .collect();
        PrefixSet::from_ranges(ranges, Vec::new())
    };
    let srcs = sources();
    let options = Options::default();
    let run = |set: &PrefixSet| {
        export(
            Format::Ipset,
            &Request {
                set,
                old: None,
                header: Header {
                    sources: &srcs,
                    filter: "",
                },
                options: &options,
            },
        )
    };
    let at_default = run(&spaced(65_536)).unwrap();
    assert!(at_default
        .text
        .contains("family inet hashsize 1024 maxelem 65536 -exist"));
    assert!(at_default.notes.is_empty());
    let over = run(&spaced(65_537)).unwrap();
    assert_eq!(
        over.text.matches("maxelem 1048576 -exist").count(),
        2,
        "the set and its temporary twin"
    );
    assert_eq!(
        over.text.matches("maxelem 65536 -exist").count(),
        2,
        "IPv6 keeps the default"
    );
    assert_eq!(over.notes.len(), 1);
    assert!(
        over.notes[0].contains("ipset destroy ipfence-v4"),
        "{:?}",
        over.notes
    );
    let e = run(&spaced((1 << 20) + 1)).unwrap_err().to_string();
    assert_eq!(e, "ipset: ipfence-v4 would hold 1048577 CIDRs: more than the 1048576 (maxelem) this exporter creates sets with; split the selection (e.g. by --region)");
}

/// The pf update is a real shell script: run by `sh` with a stand-in `pfctl` that logs
/// its arguments, it makes exactly the calls expected, one per verb.
#[test]
fn pf_update_script_runs_in_sh() {
    let text = render(
        Format::Pf,
        None,
        &new_set(),
        Some(&old_set()),
        Options::default(),
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("ipfence-pf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log");
    let stub = dir.join("pfctl");
    std::fs::write(&stub, "#!/bin/sh\necho \"$*\" >> \"$PFCTL_LOG\"\n").unwrap();
    std::process::Command::new("chmod")
        .args(["+x", stub.to_str().unwrap()])
        .status()
        .unwrap();
    std::fs::write(dir.join("update.sh"), &text).unwrap();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = std::process::Command::new("sh")
        .arg(dir.join("update.sh"))
        .env("PATH", path)
        .env("PFCTL_LOG", &log)
        .status()
        .unwrap();
    assert!(status.success());
    let calls = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let (removed, added) = ipfence_exporters::cover_changes(&old_set(), &new_set());
    let join = |l: &[IpNet]| {
        l.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        calls,
        format!(
            "-t ipfence -T delete {}\n-t ipfence -T add {}\n",
            join(&removed),
            join(&added)
        )
    );
}

/// Names that would end a directive or a token in nginx (`$NAME`) and Caddy (`@NAME`).
#[test]
fn hostile_names_are_rejected_by_the_web_formats() {
    let s = new_set();
    for name in [
        "", "a b", "a;b", "a}b", "a{b", "$a", "a\nb", "a#b", "a'b", "a\"b", "ré", "a/b",
    ] {
        for (format, style) in [
            (Format::Nginx, None),
            (Format::Nginx, Some("geo")),
            (Format::Caddy, None),
        ] {
            let opts = Options {
                name: name.into(),
                ..Options::default()
            };
            match render(format, style, &s, None, opts) {
                Err(Error::Name { .. }) => {}
                other => panic!("{format} accepted name {name:?}: {other:?}"),
            }
        }
    }
    for name in [
        "",
        "a b",
        "a\"b",
        "a]b",
        "a$b",
        "a\\b",
        "a/b",
        "a\nb",
        "ré",
        &"a".repeat(64),
    ] {
        for format in [Format::Mikrotik, Format::Fail2ban, Format::Crowdsec] {
            let opts = Options {
                name: name.into(),
                ..Options::default()
            };
            match render(format, None, &s, None, opts) {
                Err(Error::Name { .. }) => {}
                other => panic!("{format} accepted name {name:?}: {other:?}"),
            }
        }
    }
    // An update has no meaning for files the server reads whole.
    for format in [
        Format::Nginx,
        Format::Apache,
        Format::Haproxy,
        Format::Caddy,
    ] {
        let e = render(format, None, &s, Some(&old_set()), Options::default()).unwrap_err();
        assert!(e.to_string().contains("has no incremental update"), "{e}");
    }
}
