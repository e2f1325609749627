//! `ipfence sync` with named sources of every provider, and fleets following a blob: a
//! test HTTP server on 127.0.0.1 serves real Google `cloud.json`, GitHub meta, Azure
//! Service Tags and Oracle files (and edited copies for their next version), and the
//! targets are nftables tables in private network namespaces.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ipfence_core::PrefixSet;
use serde_json::Value;

use crate::firewall::{needs_kernel_tools, nft_set};
use crate::sync::{ok, read, sync, Netns};
use crate::util::{data, ipfence, tempdir, Run, AWS_NEW, AWS_PREV};

#[derive(Default)]
struct Files {
    /// Path -> body and ETag.
    files: HashMap<String, (Vec<u8>, String)>,
    /// Path -> the status it answers instead.
    failing: HashMap<String, u16>,
    /// Requests per path, and how many were answered 304.
    requests: HashMap<String, usize>,
    not_modified: HashMap<String, usize>,
    /// Bumped for each new ETag.
    serial: u64,
}

/// An HTTP/1.1 server of several files on a free loopback port, stopped when dropped.
struct Server {
    base: String,
    shared: Arc<Mutex<Files>>,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Files::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let s = s.clone();
                    std::thread::spawn(move || handle(c, &s));
                }
            }
        });
        Server {
            base: format!("http://127.0.0.1:{port}"),
            shared,
            stop,
            port,
            thread: Some(thread),
        }
    }

    /// Serves `bytes` at `path` from now on, with a new ETag (even for the same bytes).
    fn serve(&self, path: &str, bytes: Vec<u8>) {
        let mut s = self.shared.lock().unwrap();
        s.serial += 1;
        let etag = format!("\"v{}\"", s.serial);
        s.files.insert(path.to_string(), (bytes, etag));
        s.failing.remove(path);
    }

    fn fail(&self, path: &str, status: u16) {
        self.shared
            .lock()
            .unwrap()
            .failing
            .insert(path.to_string(), status);
    }

    /// Answers `path` again, with the file and ETag it had.
    fn heal(&self, path: &str) {
        self.shared.lock().unwrap().failing.remove(path);
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// (requests, answered 304) for `path`.
    fn counts(&self, path: &str) -> (usize, usize) {
        let s = self.shared.lock().unwrap();
        (
            s.requests.get(path).copied().unwrap_or(0),
            s.not_modified.get(path).copied().unwrap_or(0),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(mut c: TcpStream, shared: &Mutex<Files>) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let req = String::from_utf8_lossy(&req).to_string();
    let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
    let lower = req.to_ascii_lowercase();
    let mut s = shared.lock().unwrap();
    *s.requests.entry(path.clone()).or_default() += 1;
    let answer = |status: &str, etag: &str, body: &[u8]| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nETag: {etag}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let out = match (s.failing.get(&path), s.files.get(&path)) {
        (Some(code), _) => answer(&format!("{code} Oops"), "\"x\"", b""),
        (None, None) => answer("404 Not Found", "\"x\"", b""),
        (None, Some((body, etag))) => {
            if lower.contains(&format!("if-none-match: {}", etag.to_ascii_lowercase())) {
                let etag = etag.clone();
                *s.not_modified.entry(path).or_default() += 1;
                answer("304 Not Modified", &etag, b"")
            } else {
                answer("200 OK", etag, body)
            }
        }
    };
    drop(s);
    let _ = c.write_all(&out);
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap()
}

/// `text` with `from` replaced by `to`, once; `from` must be there.
fn edit(text: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(text.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} is not in the file");
    text.replacen(from, to, 1).into_bytes()
}

/// The exact set `ipfence aggregate` makes of these files with this filter.
fn expected(files: &[&Path], filter: &[&str]) -> PrefixSet {
    let mut args = vec!["aggregate".to_string()];
    for f in files {
        args.push("--input".into());
        args.push(f.display().to_string());
    }
    args.extend(filter.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = ipfence(&args, "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.lines().map(|l| l.parse().unwrap()).collect()
}

/// What the kernel holds in table `inet NAME`.
fn kernel(ns: &Netns, name: &str) -> PrefixSet {
    nft_set(&ns.run(&["nft", "-j", "list", "table", "inet", name]))
}

fn refused(r: &Run, msg: &str) {
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(msg), "expected {msg:?} in {}", r.stderr);
}

const GOOGLE: &str = "/google/cloud.json";
const GITHUB: &str = "/github/meta";
const AZURE: &str = "/azure/ServiceTags_Public_20260817.json";
const ORACLE: &str = "/oracle/public_ip_ranges.json";

/// The published file of each provider, and its next version: a newer stamp (GitHub
/// has none) and one prefix added.
struct Versions {
    google: [Vec<u8>; 2],
    github: [Vec<u8>; 2],
    azure: [Vec<u8>; 2],
    oracle: [Vec<u8>; 2],
}

fn versions() -> Versions {
    let google = fixture("google/cloud.json");
    let google2 = edit(
        &edit(
            &google,
            "\"syncToken\": \"1778033048194\"",
            "\"syncToken\": \"1778119448194\"",
        ),
        "\"prefixes\": [{",
        "\"prefixes\": [{\"ipv4Prefix\": \"192.0.2.0/24\", \"service\": \"Google Cloud\", \"scope\": \"europe-west1\"}, {",
    );
    let github = fixture("github/meta.json");
    let github2 = edit(&github, "\"hooks\":[\"", "\"hooks\":[\"100.64.0.0/24\",\"");
    let azure = fixture("azure/ServiceTags_Public.json");
    let azure2 = edit(
        &edit(&azure, "\"changeNumber\": 398,", "\"changeNumber\": 399,"),
        "\"addressPrefixes\": [",
        "\"addressPrefixes\": [\n          \"198.51.100.0/24\",",
    );
    let oracle = fixture("oracle/public_ip_ranges.json");
    let oracle2 = edit(
        &edit(
            &oracle,
            "\"2025-07-31T18:18:01.103975\"",
            "\"2025-08-07T18:18:01.103975\"",
        ),
        "\"cidrs\": [",
        "\"cidrs\": [{\"cidr\": \"203.0.113.0/24\", \"tags\": [\"OCI\"]},",
    );
    Versions {
        google: [google, google2],
        github: [github, github2],
        azure: [azure, azure2],
        oracle: [oracle, oracle2],
    }
}

/// Each version written to a file, for `ipfence aggregate`.
fn files(d: &Path, v: &Versions, n: usize) -> [PathBuf; 4] {
    let put = |name: &str, bytes: &[u8]| {
        let p = d.join(format!("v{n}-{name}"));
        std::fs::write(&p, bytes).unwrap();
        p
    };
    [
        put("cloud.json", &v.google[n]),
        put("meta.json", &v.github[n]),
        put("ServiceTags_Public.json", &v.azure[n]),
        put("public_ip_ranges.json", &v.oracle[n]),
    ]
}

/// Four providers, one target each and one drawing from two of them, in a private
/// network namespace: they follow newer versions, ignore identical bytes, refuse an
/// older version or another Azure cloud, and leave state and kernel untouched when they
/// refuse; a failed source leaves only its own targets behind.
#[test]
fn named_sources_of_every_provider_follow_newer_versions_only() {
    if !needs_kernel_tools() {
        return;
    }
    let server = Server::start();
    let ns = Netns::start();
    let dir = tempdir();
    let d = dir.path();
    let v = versions();
    let serve = |n: usize| {
        server.serve(GOOGLE, v.google[n].clone());
        server.serve(GITHUB, v.github[n].clone());
        server.serve(AZURE, v.azure[n].clone());
        server.serve(ORACLE, v.oracle[n].clone());
    };
    let config = d.join("sync.toml");
    let state = d.join("ipfence-state.json");
    let nft = ns.command("nft");
    let target = |name: &str, sources: &str, filter: &str| {
        format!(
            "[[target]]\nname = \"{name}\"\nformat = \"nftables\"\nsources = {sources}\n{filter}\noutput = \"{}/{name}.nft\"\napply = true\ncommand = {nft}\n\n",
            d.display()
        )
    };
    let text = format!(
        "timeout_seconds = 5\nretries = 0\n\n\
         [[source]]\nname = \"gcp\"\nprovider = \"google\"\nurl = \"{}\"\n\n\
         [[source]]\nname = \"gh\"\nprovider = \"github\"\nurl = \"{}\"\n\n\
         [[source]]\nname = \"azure\"\nprovider = \"azure\"\nurl = \"{}\"\n\n\
         [[source]]\nname = \"oci\"\nprovider = \"oracle\"\nurl = \"{}\"\n\n{}{}{}{}",
        server.url(GOOGLE),
        server.url(GITHUB),
        server.url(AZURE),
        server.url(ORACLE),
        target(
            "gcp",
            "[\"gcp\"]",
            "services = [\"Google Cloud\"]\nregions = [\"europe-west1\"]"
        ),
        target("webhooks", "[\"gh\"]", "services = [\"hooks\"]"),
        target("actiongroup", "[\"azure\"]", "services = [\"ActionGroup\"]"),
        target(
            "edge",
            "[\"gh\", \"oci\"]",
            "services = [\"hooks\", \"OCI\"]"
        ),
    );
    std::fs::write(&config, text).unwrap();
    // What each target must hold for the files of one version.
    let want = |f: &[PathBuf; 4]| -> [(&str, PrefixSet); 4] {
        [
            (
                "gcp",
                expected(
                    &[&f[0]],
                    &["--service", "Google Cloud", "--region", "europe-west1"],
                ),
            ),
            ("webhooks", expected(&[&f[1]], &["--service", "hooks"])),
            (
                "actiongroup",
                expected(&[&f[2]], &["--service", "ActionGroup"]),
            ),
            (
                "edge",
                expected(&[&f[1], &f[3]], &["--service", "hooks", "--service", "OCI"]),
            ),
        ]
    };
    let holds = |sets: &[(&str, PrefixSet); 4], when: &str| {
        for (name, set) in sets {
            assert!(!set.is_empty(), "{name}: an empty selection tests nothing");
            assert_eq!(&kernel(&ns, name), set, "target {name} {when}");
        }
    };
    let (f0, f1) = (files(d, &v, 0), files(d, &v, 1));
    let (want0, want1) = (want(&f0), want(&f1));

    // The first version of every list.
    serve(0);
    ok(&sync(&config, &[]));
    holds(&want0, "after the first version");
    let st: Value = serde_json::from_slice(&read(&state)).unwrap();
    assert_eq!(st["sources"]["gcp"]["sync_token"], "1778033048194");
    assert_eq!(st["sources"]["azure"]["sync_token"], "398");
    assert_eq!(
        st["sources"]["oci"]["create_date"],
        "2025-07-31T18:18:01.103975"
    );
    assert!(st["sources"]["gh"]["sync_token"].is_null());
    assert!(st["source"].is_null(), "no target uses the top-level url");

    // Nothing changed: four 304s, and the state is byte for byte the same.
    let state1 = read(&state);
    let r = sync(&config, &[]);
    ok(&r);
    for p in [GOOGLE, GITHUB, AZURE, ORACLE] {
        assert_eq!(server.counts(p), (2, 1), "{p}: one conditional request");
    }
    assert_eq!(read(&state), state1, "unchanged lists, unchanged state");
    let r = sync(&config, &["--check"]);
    ok(&r);
    assert_eq!(r.stdout.lines().count(), 1, "one line: {}", r.stdout);
    assert!(
        r.stdout
            .starts_with("ipfence sync: current: source gcp syncToken 1778033048194, "),
        "{}",
        r.stdout
    );
    // The same bytes under new ETags: downloaded, found identical, nothing applied.
    serve(0);
    let outputs: Vec<Vec<u8>> = ["gcp", "webhooks", "actiongroup", "edge"]
        .iter()
        .map(|n| read(&d.join(format!("{n}.nft"))))
        .collect();
    let r = sync(&config, &[]);
    ok(&r);
    assert!(r.stdout.contains("already applied"), "{}", r.stdout);
    assert_eq!(read(&state), state1, "identical bytes, unchanged state");
    for (n, before) in ["gcp", "webhooks", "actiongroup", "edge"]
        .iter()
        .zip(&outputs)
    {
        assert_eq!(&read(&d.join(format!("{n}.nft"))), before, "{n}.nft");
    }

    // The next version of every list: --check tells, then every target follows.
    serve(1);
    let r = sync(&config, &["--check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("behind: published source gcp syncToken 1778119448194"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("4 of 4 targets would change"),
        "{}",
        r.stdout
    );
    assert_eq!(read(&state), state1, "--check changes nothing");
    serve(1);
    let r = sync(&config, &[]);
    ok(&r);
    holds(&want1, "after the next version");
    for (table, addr) in [
        ("gcp", "192.0.2.1"),
        ("webhooks", "100.64.0.1"),
        ("actiongroup", "198.51.100.1"),
        ("edge", "203.0.113.1"),
        ("edge", "100.64.0.1"),
    ] {
        let set = format!("{table}_v4");
        assert!(
            ns.status(&[
                "nft",
                "get",
                "element",
                "inet",
                table,
                &set,
                &format!("{{ {addr} }}")
            ]),
            "{table} holds the added {addr}"
        );
    }
    let state2 = read(&state);
    let st: Value = serde_json::from_slice(&state2).unwrap();
    assert_eq!(st["sources"]["gcp"]["sync_token"], "1778119448194");
    assert_eq!(st["sources"]["azure"]["sync_token"], "399");

    // An older version of a stamped list is refused, whichever the list; the state and
    // the kernel stay as they were.
    for (path, old, kind) in [
        (GOOGLE, &v.google[0], "syncToken 1778033048194 is older"),
        (AZURE, &v.azure[0], "changeNumber 398 is older"),
        (
            ORACLE,
            &v.oracle[0],
            "publication time 2025-07-31T18:18:01.103975 is older",
        ),
    ] {
        server.serve(path, old.clone());
        refused(&sync(&config, &[]), kind);
        assert_eq!(read(&state), state2, "{path}: the state changed");
        holds(&want1, &format!("after an older {path}"));
        let dry = sync(&config, &["--dry-run"]);
        refused(&dry, "older than the applied");
    }
    serve(1);
    // Azure's file of another cloud, even newer, is refused.
    let gov = edit(
        &edit(
            &v.azure[1],
            "\"cloud\": \"Public\"",
            "\"cloud\": \"AzureGovernment\"",
        ),
        "\"changeNumber\": 399,",
        "\"changeNumber\": 400,",
    );
    server.serve(AZURE, gov);
    refused(
        &sync(&config, &[]),
        "describes Azure cloud \"AzureGovernment\", but the source is set up for \"Public\"",
    );
    assert_eq!(read(&state), state2, "another cloud: the state changed");
    holds(&want1, "after another cloud's file");
    // Not Azure's file at all where Azure's is expected.
    server.serve(AZURE, v.google[1].clone());
    refused(&sync(&config, &[]), "but it was named");
    assert_eq!(read(&state), state2);
    server.serve(AZURE, v.azure[1].clone());

    // A list without a stamp (GitHub) follows its content, either way.
    server.serve(GITHUB, v.github[0].clone());
    ok(&sync(&config, &[]));
    assert_eq!(
        kernel(&ns, "webhooks"),
        want0[1].1,
        "webhooks back to the first meta"
    );

    // A failed source leaves its own targets as they were; the others go on.
    server.fail(GITHUB, 503);
    server.serve(GOOGLE, v.google[0].clone()); // older: refused on its own
    let before = read(&state);
    let r = sync(&config, &[]);
    refused(&r, "2 of 4 sources failed (source gcp, source gh)");
    assert_eq!(read(&state), before, "no list was applied");
    let google3 = edit(
        &edit(
            &v.google[1],
            "\"syncToken\": \"1778119448194\"",
            "\"syncToken\": \"1778205848194\"",
        ),
        "\"prefixes\": [{",
        "\"prefixes\": [{\"ipv4Prefix\": \"192.0.3.0/24\", \"service\": \"Google Cloud\", \"scope\": \"europe-west1\"}, {",
    );
    let oracle3 = edit(
        &edit(
            &v.oracle[1],
            "\"2025-08-07T18:18:01.103975\"",
            "\"2025-08-14T18:18:01.103975\"",
        ),
        "\"cidrs\": [",
        "\"cidrs\": [{\"cidr\": \"203.0.114.0/24\", \"tags\": [\"OCI\"]},",
    );
    server.serve(GOOGLE, google3);
    server.serve(ORACLE, oracle3);
    let r = sync(&config, &[]);
    refused(
        &r,
        "1 of 4 sources failed (source gh); their targets (webhooks, edge)",
    );
    let has = |table: &str, addr: &str| {
        let set = format!("{table}_v4");
        ns.status(&[
            "nft",
            "get",
            "element",
            "inet",
            table,
            &set,
            &format!("{{ {addr} }}"),
        ])
    };
    assert!(
        has("gcp", "192.0.3.1"),
        "the google target followed: {}",
        r.stdout
    );
    assert_eq!(
        kernel(&ns, "webhooks"),
        want0[1].1,
        "webhooks left as it was"
    );
    assert!(
        !has("edge", "203.0.114.1"),
        "edge, drawing from GitHub too, left as it was"
    );
    let st: Value = serde_json::from_slice(&read(&state)).unwrap();
    assert_eq!(st["sources"]["gcp"]["sync_token"], "1778205848194");
    let old: Value = serde_json::from_slice(&before).unwrap();
    for kept in ["gh", "oci"] {
        assert_eq!(
            st["sources"][kept], old["sources"][kept],
            "{kept}: the applied version is kept while a target drawing from it waits"
        );
    }
    for kept in ["webhooks", "edge"] {
        assert_eq!(st["targets"][kept], old["targets"][kept], "{kept}");
    }
    // GitHub answers again, with the file already applied (a 304): edge now gets
    // Oracle's new version, fetched again because its state still names the old one.
    server.heal(GITHUB);
    ok(&sync(&config, &[]));
    assert!(
        has("edge", "203.0.114.1"),
        "edge follows Oracle's new version"
    );
    assert_eq!(kernel(&ns, "webhooks"), want0[1].1);
    let st: Value = serde_json::from_slice(&read(&state)).unwrap();
    assert_eq!(
        st["sources"]["oci"]["create_date"],
        "2025-08-14T18:18:01.103975"
    );

    // A flushed kernel: --check names every target, --restore brings each back from the
    // state alone.
    let tables = ["gcp", "webhooks", "actiongroup", "edge"];
    let before: Vec<PrefixSet> = tables.iter().map(|t| kernel(&ns, t)).collect();
    ns.run(&["nft", "flush", "ruleset"]);
    let r = sync(&config, &["--check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("drifted: 4 of 4 targets"), "{}", r.stdout);
    ok(&sync(&config, &["--restore"]));
    for (t, set) in tables.iter().zip(&before) {
        assert_eq!(&kernel(&ns, t), set, "{t} restored");
    }
}

/// One appliance: its own network namespace, configuration and state.
struct Appliance {
    ns: Netns,
    config: PathBuf,
    state: PathBuf,
}

fn compile(inputs: &[&Path], out: &Path, manifest: &Path) {
    let mut args = vec!["compile".to_string()];
    for i in inputs {
        args.push("--input".into());
        args.push(i.display().to_string());
    }
    for a in [
        "--output",
        out.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
    ] {
        args.push(a.into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = ipfence(&args, "");
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// One publisher compiles AWS and GitHub into a blob with its manifest; three
/// appliances, each in its own network namespace with its own state, follow it: they
/// converge on every update, one 304 when nothing changed, and refuse a replayed
/// (older) manifest and a blob that is not the one the manifest describes.
#[test]
fn a_fleet_follows_the_blob_its_publisher_compiles() {
    if !needs_kernel_tools() {
        return;
    }
    let server = Server::start();
    let dir = tempdir();
    let d = dir.path();
    let publish = d.join("publish");
    std::fs::create_dir(&publish).unwrap();
    let (blob, manifest) = (
        publish.join("allow.ipfence"),
        publish.join("allow.manifest.json"),
    );
    let meta = fixture("github/meta.json");
    let meta2 = d.join("meta2.json");
    std::fs::write(
        &meta2,
        edit(&meta, "\"hooks\":[\"", "\"hooks\":[\"100.64.0.0/24\",\""),
    )
    .unwrap();
    let (aws_prev, aws_new, meta1) = (data(AWS_PREV), data(AWS_NEW), data("github/meta.json"));
    // Each version's blob and manifest, kept to be replayed.
    let build = |n: usize, aws: &Path, gh: &Path| -> (Vec<u8>, Vec<u8>) {
        compile(&[aws, gh], &blob, &manifest);
        let kept = (read(&blob), read(&manifest));
        std::fs::write(d.join(format!("blob{n}")), &kept.0).unwrap();
        kept
    };
    let put = |b: &[u8], m: &[u8]| {
        server.serve("/fleet/allow.ipfence", b.to_vec());
        server.serve("/fleet/allow.manifest.json", m.to_vec());
    };
    let filter = [
        "--service",
        "hooks",
        "--service",
        "CLOUDFRONT",
        "--service",
        "ROUTE53_HEALTHCHECKS",
    ];
    let want = |n: usize| expected(&[&d.join(format!("blob{n}"))], &filter);

    let appliances: Vec<Appliance> = (0..3)
        .map(|i| {
            let home = d.join(format!("appliance{i}"));
            std::fs::create_dir(&home).unwrap();
            let ns = Netns::start();
            let config = home.join("sync.toml");
            std::fs::write(
                &config,
                format!(
                    "timeout_seconds = 5\nretries = 0\n\n\
                     [[source]]\nname = \"fleet\"\nformat = \"ipfence-blob\"\nurl = \"{}\"\n\n\
                     [[target]]\nname = \"edge\"\nformat = \"nftables\"\nsources = [\"fleet\"]\n\
                     services = [\"hooks\", \"CLOUDFRONT\", \"ROUTE53_HEALTHCHECKS\"]\nports = [443]\napply = true\ncommand = {}\n",
                    server.url("/fleet/allow.manifest.json"),
                    ns.command("nft")
                ),
            )
            .unwrap();
            Appliance {
                ns,
                config,
                state: home.join("ipfence-state.json"),
            }
        })
        .collect();
    let converge = |n: usize| {
        let set = want(n);
        assert!(!set.is_empty());
        for (i, a) in appliances.iter().enumerate() {
            ok(&sync(&a.config, &[]));
            assert_eq!(
                kernel(&a.ns, "edge"),
                set,
                "appliance {i} after version {n}"
            );
        }
    };

    // Version 1, then a run with nothing new: one 304 for the manifest each.
    let v1 = build(1, &aws_prev, &meta1);
    put(&v1.0, &v1.1);
    converge(1);
    let states: Vec<Vec<u8>> = appliances.iter().map(|a| read(&a.state)).collect();
    let blob_gets = server.counts("/fleet/allow.ipfence").0;
    for a in &appliances {
        ok(&sync(&a.config, &[]));
    }
    assert_eq!(
        server.counts("/fleet/allow.manifest.json").1,
        3,
        "three 304s"
    );
    assert_eq!(
        server.counts("/fleet/allow.ipfence").0,
        blob_gets,
        "no blob fetched"
    );
    for (a, s) in appliances.iter().zip(&states) {
        assert_eq!(&read(&a.state), s, "unchanged manifest, unchanged state");
    }

    // Version 2: the next AWS file and a GitHub meta with one more hook prefix.
    let v2 = build(2, &aws_new, &meta2);
    assert_ne!(want(1), want(2), "the update changes the selection");
    put(&v2.0, &v2.1);
    converge(2);
    let states: Vec<Vec<u8>> = appliances.iter().map(|a| read(&a.state)).collect();
    let m2: Value = serde_json::from_slice(&v2.1).unwrap();
    let st: Value = serde_json::from_slice(&states[0]).unwrap();
    assert_eq!(st["sources"]["fleet"]["sha256"], m2["sha256"]);

    // A replayed version 1 is refused by every appliance; nothing changes.
    put(&v1.0, &v1.1);
    for (i, a) in appliances.iter().enumerate() {
        refused(&sync(&a.config, &[]), "is older than the applied");
        assert_eq!(
            read(&a.state),
            states[i],
            "appliance {i}: the state changed"
        );
        assert_eq!(
            kernel(&a.ns, "edge"),
            want(2),
            "appliance {i}: the kernel changed"
        );
    }
    // A new manifest whose blob is not there yet (the old one is served).
    let v3 = build(3, &aws_new, &meta1);
    put(&v2.0, &v3.1);
    for (i, a) in appliances.iter().enumerate() {
        refused(&sync(&a.config, &[]), "not the blob it describes");
        assert_eq!(
            read(&a.state),
            states[i],
            "appliance {i}: the state changed"
        );
        assert_eq!(
            kernel(&a.ns, "edge"),
            want(2),
            "appliance {i}: the kernel changed"
        );
    }
    // Published whole, version 3 is followed.
    put(&v3.0, &v3.1);
    converge(3);
    let states: Vec<Vec<u8>> = appliances.iter().map(|a| read(&a.state)).collect();
    // A publisher that fell back to an older AWS file compiles a newer manifest: the
    // list's syncToken went back, and every appliance refuses it.
    let v4 = build(4, &aws_prev, &meta1);
    put(&v4.0, &v4.1);
    for (i, a) in appliances.iter().enumerate() {
        refused(
            &sync(&a.config, &[]),
            "list aws aws: syncToken 1787399825 is older than the applied syncToken 1787411825",
        );
        assert_eq!(
            read(&a.state),
            states[i],
            "appliance {i}: the state changed"
        );
        assert_eq!(
            kernel(&a.ns, "edge"),
            want(3),
            "appliance {i}: the kernel changed"
        );
    }
}
