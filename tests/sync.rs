//! `ipfence sync` end to end: a test HTTP server on 127.0.0.1 serves real consecutive
//! AWS versions (and can fail, stall, truncate or lie); targets are real kernel sets in a
//! private network namespace and real AWS objects in a moto emulator, driven through
//! the real `aws` CLI. Every failure must leave the previous state and outputs intact.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ipfence_core::PrefixSet;
use serde_json::{json, Value};

use crate::aws::{fake_credentials, ipfence_set, needs_emulator, set_of, venv, Emulator};
use crate::firewall::{ipset_set, needs_kernel_tools, nft_set};
use crate::util::{data, tempdir, Run, AWS_NEW, AWS_PREV};

const AWS_MONTH_BEFORE: &str = "aws/ip-ranges-2026-07-23-16-17-05.json";

/// How the server answers.
#[derive(Clone)]
enum Mode {
    Serve,
    Status(u16),
    /// Sends the headers, then nothing for this long.
    Stall(Duration),
    /// Announces the full length, sends half, closes.
    Truncate,
}

struct Shared {
    body: Vec<u8>,
    etag: String,
    mode: Mode,
    requests: usize,
    not_modified: usize,
}

/// A one-file HTTP/1.1 server on a free loopback port, stopped when dropped.
struct Server {
    url: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            body: Vec::new(),
            etag: String::new(),
            mode: Mode::Serve,
            requests: 0,
            not_modified: 0,
        }));
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
            url: format!("http://127.0.0.1:{port}/ip-ranges.json"),
            shared,
            stop,
            port,
            thread: Some(thread),
        }
    }

    /// Serves the fixture `rel` (or these bytes) from now on, with a new ETag.
    fn serve(&self, bytes: Vec<u8>) {
        let mut s = self.shared.lock().unwrap();
        s.etag = format!("\"{}\"", md5_hex(&bytes));
        s.body = bytes;
        s.mode = Mode::Serve;
    }

    fn mode(&self, m: Mode) {
        self.shared.lock().unwrap().mode = m;
    }

    fn counts(&self) -> (usize, usize) {
        let s = self.shared.lock().unwrap();
        (s.requests, s.not_modified)
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

fn handle(mut c: TcpStream, shared: &Mutex<Shared>) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let req = String::from_utf8_lossy(&req).to_ascii_lowercase();
    let (body, etag, mode) = {
        let mut s = shared.lock().unwrap();
        s.requests += 1;
        (s.body.clone(), s.etag.clone(), s.mode.clone())
    };
    let head = |status: &str, len: usize| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
    };
    match mode {
        Mode::Status(code) => {
            let _ = c.write_all(head(&format!("{code} Oops"), 0).as_bytes());
        }
        Mode::Stall(d) => {
            let _ = c.write_all(head("200 OK", body.len()).as_bytes());
            std::thread::sleep(d);
        }
        Mode::Truncate => {
            let _ = c.write_all(head("200 OK", body.len()).as_bytes());
            let _ = c.write_all(&body[..body.len() / 2]);
        }
        Mode::Serve => {
            if req.contains(&format!("if-none-match: {}", etag.to_ascii_lowercase())) {
                shared.lock().unwrap().not_modified += 1;
                let _ = c.write_all(head("304 Not Modified", 0).as_bytes());
            } else {
                let _ = c.write_all(head("200 OK", body.len()).as_bytes());
                let _ = c.write_all(&body);
            }
        }
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap()
}

/// An SNS envelope as AWS sends it for `bytes` published at `url`.
fn notification(bytes: &[u8], url: &str, md5: Option<&str>) -> String {
    let v: Value = serde_json::from_slice(bytes).unwrap();
    let message = json!({
        "create-time": v["createDate"],
        "synctoken": v["syncToken"],
        "md5": md5.map_or_else(|| md5_hex(bytes), str::to_string),
        "url": url,
    });
    json!({
        "Type": "Notification",
        "MessageId": "8e5c3c52-5c7e-5a4e-9d0d-2b7a2d3f3c6a",
        "TopicArn": "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged",
        "Subject": "[AmazonIpSpaceChanged] ",
        "Message": message.to_string(),
        "Timestamp": "2026-08-22T15:17:05.000Z",
        "SignatureVersion": "1",
        "Signature": "dGVzdA==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    })
    .to_string()
}

/// Runs `ipfence sync --config CONFIG ARGS` with the emulator's fake credentials.
pub(crate) fn sync(config: &Path, args: &[&str]) -> Run {
    fake_credentials(&mut Command::new(env!("CARGO_BIN_EXE_ipfence")))
        .arg("sync")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ipfence runs")
        .into()
}

pub(crate) fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
}

/// A process holding a private network namespace; tools enter it with nsenter.
pub(crate) struct Netns {
    child: Child,
}

impl Netns {
    pub(crate) fn start() -> Netns {
        let ns = Netns {
            child: Command::new("unshare")
                .args(["-n", "sleep", "600"])
                .spawn()
                .unwrap(),
        };
        let path = format!("/proc/{}/ns/net", ns.child.id());
        let own = std::fs::read_link("/proc/self/ns/net").unwrap();
        for _ in 0..200 {
            if std::fs::read_link(&path).is_ok_and(|l| l != own) {
                return ns;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("unshare -n did not create a namespace");
    }

    /// `nsenter --net=... PROGRAM`, as a TOML array.
    pub(crate) fn command(&self, program: &str) -> String {
        format!(
            "[\"nsenter\", \"--net=/proc/{}/ns/net\", \"{program}\"]",
            self.child.id()
        )
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.child.id()))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Netns {
    /// Whether `args` succeed inside the namespace (`nft get element`, `ipset test`).
    pub(crate) fn status(&self, args: &[&str]) -> bool {
        Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.child.id()))
            .args(args)
            .output()
            .unwrap()
            .status
            .success()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

/// The lines of a rule file that are not comments (the header names the input path).
fn rules(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Version N (a month before), a notification for N+1 (the day of the embedded
/// snapshot), then N+2 (its successor, 3 h 20 min later) by URL: each time the kernel
/// sets and AWS objects equal a fresh build of that version; then an unchanged file
/// costs one conditional request.
#[test]
fn sync_keeps_kernel_sets_and_aws_objects_equal_to_each_new_version() {
    if !(needs_kernel_tools() && needs_emulator()) {
        return;
    }
    let emu = Emulator::start();
    let server = Server::start();
    let ns = Netns::start();
    let dir = tempdir();

    // The AWS objects exist; sync keeps them current.
    let waf = emu.aws(&[
        "wafv2",
        "create-ip-set",
        "--name",
        "amazon-use2",
        "--scope",
        "REGIONAL",
        "--ip-address-version",
        "IPV4",
        "--addresses",
        "[]",
    ]);
    let waf_id = waf["Summary"]["Id"].as_str().unwrap().to_string();
    let pl = emu.aws(&[
        "ec2",
        "create-managed-prefix-list",
        "--prefix-list-name",
        "amazon-euw3",
        "--address-family",
        "IPv4",
        "--max-entries",
        "10",
    ]);
    let pl_id = pl["PrefixList"]["PrefixListId"]
        .as_str()
        .unwrap()
        .to_string();
    let vpc = emu.aws(&["ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"]);
    let sg = emu.aws(&[
        "ec2",
        "create-security-group",
        "--group-name",
        "ec2-euw3",
        "--description",
        "test",
        "--vpc-id",
        vpc["Vpc"]["VpcId"].as_str().unwrap(),
    ]);
    let sg_id = sg["GroupId"].as_str().unwrap().to_string();
    // A rule of the user's own, which sync must leave alone.
    emu.aws(&[
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        &sg_id,
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "192.0.2.0/24",
    ]);

    let d = dir.path();
    let config = d.join("sync.toml");
    std::fs::write(
        &config,
        format!(
            r#"url = "{url}"
retry_delay_ms = 10
[aws]
command = ["{aws}"]
endpoint_url = "{endpoint}"
region = "us-east-1"

[[target]]
name = "ec2_apne1"
format = "nftables"
services = ["EC2"]
regions = ["ap-northeast-1"]
output = "{d}/ec2.nft"
apply = true
command = {nft}

[[target]]
name = "amazon_use2"
format = "ipset"
services = ["AMAZON"]
regions = ["us-east-2"]
output = "{d}/amazon.ipset"
apply = true
command = {ipset}

[[target]]
name = "amazon-use2"
format = "aws-waf"
services = ["AMAZON"]
regions = ["us-east-2"]
family = "ipv4"
apply = true
id = "{waf_id}"

[[target]]
name = "amazon-euw3"
format = "aws-prefix-list"
services = ["AMAZON"]
regions = ["eu-west-3"]
family = "ipv4"
apply = true
id = "{pl_id}"

[[target]]
name = "ec2-euw3"
format = "aws-security-group"
services = ["EC2"]
regions = ["eu-west-3"]
family = "ipv4"
ports = [443]
apply = true
id = "{sg_id}"
output = "{d}/sg.json"
"#,
            url = server.url,
            aws = venv("aws").display(),
            endpoint = emu.url,
            d = d.display(),
            nft = ns.command("nft"),
            ipset = ns.command("ipset"),
        ),
    )
    .unwrap();

    let check = |version: &str| {
        let nft = ns.run(&["nft", "-j", "list", "table", "inet", "ec2_apne1"]);
        assert_eq!(
            nft_set(&nft),
            ipfence_set(version, &["--service", "EC2", "--region", "ap-northeast-1"]),
            "nftables set after {version}"
        );
        let ipset = ipset_set(&ns.run(&["ipset", "list", "amazon_use2-v4"]))
            .union(&ipset_set(&ns.run(&["ipset", "list", "amazon_use2-v6"])));
        assert_eq!(
            ipset,
            ipfence_set(version, &["--service", "AMAZON", "--region", "us-east-2"]),
            "ipset after {version}"
        );
        let got = emu.aws(&[
            "wafv2",
            "get-ip-set",
            "--name",
            "amazon-use2",
            "--scope",
            "REGIONAL",
            "--id",
            &waf_id,
        ]);
        assert_eq!(
            set_of(got["IPSet"]["Addresses"].as_array().unwrap()),
            ipfence_set(
                version,
                &["--service", "AMAZON", "--region", "us-east-2", "--ipv4"]
            ),
            "WAF IP set after {version}"
        );
        let got = emu.aws(&[
            "ec2",
            "get-managed-prefix-list-entries",
            "--prefix-list-id",
            &pl_id,
        ]);
        let entries: Vec<&Value> = got["Entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["Cidr"])
            .collect();
        assert_eq!(
            set_of(entries),
            ipfence_set(
                version,
                &["--service", "AMAZON", "--region", "eu-west-3", "--ipv4"]
            ),
            "prefix list after {version}"
        );
        let got = emu.aws(&["ec2", "describe-security-groups", "--group-ids", &sg_id]);
        let perms = got["SecurityGroups"][0]["IpPermissions"]
            .as_array()
            .unwrap();
        let mut https = PrefixSet::new();
        let mut ssh = Vec::new();
        for p in perms {
            let ranges: Vec<&Value> = p["IpRanges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| &r["CidrIp"])
                .collect();
            match p["FromPort"].as_u64() {
                Some(443) => https = https.union(&set_of(ranges)),
                Some(22) => ssh.extend(ranges.into_iter().cloned()),
                other => panic!("unexpected rule {other:?}: {p}"),
            }
        }
        assert_eq!(
            https,
            ipfence_set(
                version,
                &["--service", "EC2", "--region", "eu-west-3", "--ipv4"]
            ),
            "security group after {version}"
        );
        assert_eq!(
            ssh,
            [json!("192.0.2.0/24")],
            "the user's own rule is untouched"
        );
    };

    // N by URL.
    server.serve(fixture(AWS_MONTH_BEFORE));
    let r = sync(&config, &[]);
    ok(&r);
    assert!(r.stdout.contains("first apply"), "{}", r.stdout);
    check(AWS_MONTH_BEFORE);

    // N+1 by notification: incremental updates, prefix list grown past MaxEntries 10.
    let prev = fixture(AWS_PREV);
    server.serve(prev.clone());
    let note = d.join("sns.json");
    std::fs::write(&note, notification(&prev, &server.url, None)).unwrap();
    let r = sync(
        &config,
        &["--dry-run", "--notification", note.to_str().unwrap()],
    );
    ok(&r);
    assert!(
        r.stdout.contains("target ec2_apne1 (nftables): +"),
        "{}",
        r.stdout
    );
    check(AWS_MONTH_BEFORE); // the dry run changed nothing
    let r = sync(&config, &["--notification", note.to_str().unwrap()]);
    ok(&r);
    assert!(r.stderr.contains("NOT verified"), "{}", r.stderr);
    assert!(
        r.stdout.contains("incremental update applied"),
        "{}",
        r.stdout
    );
    check(AWS_PREV);
    // The same notification again: nothing to do.
    let r = sync(&config, &["--notification", note.to_str().unwrap()]);
    ok(&r);
    assert!(r.stdout.contains("already applied"), "{}", r.stdout);

    // N+2 by URL, then --check says current, and an unchanged file is a 304.
    server.serve(fixture(AWS_NEW));
    let r = sync(&config, &["--check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .starts_with("ipfence sync: behind: applied syncToken 1787399825"),
        "{}",
        r.stdout
    );
    ok(&sync(&config, &[]));
    check(AWS_NEW);
    let before = server.counts();
    let r = sync(&config, &["--check"]);
    ok(&r);
    assert!(
        r.stdout
            .starts_with("ipfence sync: current: syncToken 1787411825"),
        "{}",
        r.stdout
    );
    assert_eq!(
        server.counts(),
        (before.0 + 1, before.1 + 1),
        "one conditional request, answered 304"
    );
    ok(&sync(&config, &[]));
    check(AWS_NEW);
}

/// A config with one nftables file target (no apply), and the state after version N.
fn file_setup(server: &Server, d: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let config = d.join("sync.toml");
    std::fs::write(
        &config,
        format!(
            "url = \"{}\"\ntimeout_seconds = 2\nretries = 1\nretry_delay_ms = 10\n\
             [[target]]\nname = \"s3\"\nformat = \"nftables\"\nservices = [\"S3\"]\noutput = \"{}/s3.nft\"\n\
             [[target]]\nname = \"ec2\"\nformat = \"ipset\"\nservices = [\"EC2\"]\nregions = [\"ap-southeast-3\"]\noutput = \"{}/ec2.ipset\"\n",
            server.url,
            d.display(),
            d.display()
        ),
    )
    .unwrap();
    server.serve(fixture(AWS_PREV));
    ok(&sync(&config, &[]));
    (config, d.join("ipfence-state.json"), d.join("s3.nft"))
}

#[test]
fn every_bad_update_is_refused_and_leaves_state_and_outputs_intact() {
    let server = Server::start();
    let dir = tempdir();
    let d = dir.path();
    let (config, state, output) = file_setup(&server, d);
    let (state0, out0) = (read(&state), read(&output));
    assert!(!state0.is_empty() && !out0.is_empty());
    let intact = |what: &str, r: &Run, msg: &str| {
        assert_eq!(r.code, 2, "{what}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(msg),
            "{what}: expected {msg:?} in {}",
            r.stderr
        );
        assert!(read(&state) == state0, "{what}: the state changed");
        assert!(read(&output) == out0, "{what}: the output changed");
    };
    let new = fixture(AWS_NEW);

    // A stale (older) file, by URL and as a file.
    server.serve(fixture(AWS_MONTH_BEFORE));
    intact(
        "stale URL",
        &sync(&config, &[]),
        "older than the applied 1787399825",
    );
    let old = data(AWS_MONTH_BEFORE);
    intact(
        "stale file",
        &sync(&config, &["--input", old.to_str().unwrap()]),
        "a replayed or stale file",
    );

    // A pinned digest that the file does not have.
    let f = data(AWS_NEW);
    intact(
        "pinned sha256",
        &sync(
            &config,
            &["--input", f.to_str().unwrap(), "--sha256", &"ab".repeat(32)],
        ),
        "not the pinned",
    );

    // A notification whose md5 does not match what is served.
    server.serve(new.clone());
    let note = d.join("sns.json");
    std::fs::write(
        &note,
        notification(&new, &server.url, Some(&"0".repeat(32))),
    )
    .unwrap();
    intact(
        "md5",
        &sync(&config, &["--notification", note.to_str().unwrap()]),
        "md5",
    );
    // A notification pointing elsewhere.
    std::fs::write(&note, notification(&new, "http://127.0.0.1:9/x.json", None)).unwrap();
    intact(
        "url",
        &sync(&config, &["--notification", note.to_str().unwrap()]),
        "not the configured url",
    );
    // A stale notification.
    std::fs::write(
        &note,
        notification(&fixture(AWS_MONTH_BEFORE), &server.url, None),
    )
    .unwrap();
    intact(
        "stale note",
        &sync(&config, &["--notification", note.to_str().unwrap()]),
        "replayed or stale notification",
    );

    // Transport failures, retried then given up.
    server.mode(Mode::Truncate);
    let before = server.counts().0;
    intact("truncated", &sync(&config, &[]), "gave up after 2 attempts");
    assert_eq!(server.counts().0, before + 2, "one retry");
    server.mode(Mode::Status(503));
    intact("server error", &sync(&config, &[]), "HTTP status 503");
    server.mode(Mode::Status(404));
    let before = server.counts().0;
    intact("not found", &sync(&config, &[]), "HTTP status 404");
    assert_eq!(server.counts().0, before + 1, "a 404 is not retried");
    server.mode(Mode::Stall(Duration::from_secs(5)));
    intact("stall", &sync(&config, &[]), "gave up");

    // A wrong body: not the file.
    server.serve(b"<html>maintenance</html>".to_vec());
    intact("wrong body", &sync(&config, &[]), "not usable");

    // A 90% shrink: the next version with 90% of the S3 prefixes gone.
    let mut v: Value = serde_json::from_slice(&new).unwrap();
    let mut n = 0;
    v["prefixes"].as_array_mut().unwrap().retain(|p| {
        let s3 = p["service"] == "S3";
        n += usize::from(s3);
        !s3 || n % 10 == 0
    });
    v["ipv6_prefixes"].as_array_mut().unwrap().retain(|p| {
        let s3 = p["service"] == "S3";
        n += usize::from(s3);
        !s3 || n % 10 == 0
    });
    v["syncToken"] = json!("1787415425");
    server.serve(serde_json::to_vec(&v).unwrap());
    let r = sync(&config, &[]);
    intact(
        "shrink",
        &r,
        "target s3: its IPv4 addresses would shrink by",
    );
    let r = sync(&config, &["--dry-run"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("REFUSED"), "{}", r.stdout);
    // Forced, it goes through.
    ok(&sync(&config, &["--force"]));
    assert!(read(&state) != state0, "forced: the state moved on");
}

/// Killed between writing the outputs and the state: the state still names N; each
/// output is whole (the old or the new file); a rerun converges to a fresh build of N+1.
#[test]
fn a_sync_killed_midway_converges_on_the_next_run() {
    let server = Server::start();
    let dir = tempdir();
    let d = dir.path();
    let (config, state, output) = file_setup(&server, d);
    let state0 = read(&state);
    // A third target whose "apply" kills ipfence after the first two outputs are written.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[[target]]\nname = \"killer\"\nformat = \"nftables\"\noutput = \"{}/k.nft\"\napply = true\ncommand = [\"sh\", \"-c\", \"kill -9 $PPID\", \"sh\"]\n",
        d.display()
    ));
    std::fs::write(&config, &text).unwrap();
    server.serve(fixture(AWS_NEW));
    let r = sync(&config, &[]);
    assert_eq!(r.code, -1, "killed: {}{}", r.stdout, r.stderr);
    assert!(
        read(&state) == state0,
        "the state still names the old version"
    );
    let fresh = |args: &[&str]| {
        let f = data(AWS_NEW);
        let mut all = vec!["export", "--input", f.to_str().unwrap()];
        all.extend_from_slice(args);
        let r = crate::util::ipfence(&all, "");
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.into_bytes()
    };
    let s3_new = fresh(&["--format", "nftables", "--name", "s3", "--service", "S3"]);
    assert_eq!(rules(&read(&output)), rules(&s3_new), "a whole new file");
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ipfence-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");

    // The rerun (the killer gone) converges.
    text.truncate(text.find("[[target]]\nname = \"killer\"").unwrap());
    std::fs::write(&config, &text).unwrap();
    let r = sync(&config, &[]);
    ok(&r);
    assert_eq!(rules(&read(&output)), rules(&s3_new));
    assert_eq!(
        rules(&read(&d.join("ec2.ipset"))),
        rules(&fresh(&[
            "--format",
            "ipset",
            "--name",
            "ec2",
            "--service",
            "EC2",
            "--region",
            "ap-southeast-3"
        ]))
    );
    let st: Value = serde_json::from_slice(&read(&state)).unwrap();
    assert_eq!(st["source"]["sync_token"], "1787411825");
}

/// A target whose tool fails: the others are still written, the run exits 2 naming it,
/// the state stays at the old version, and the next run (the tool fixed) retries it.
#[test]
fn a_failed_target_is_reported_and_retried() {
    let server = Server::start();
    let dir = tempdir();
    let d = dir.path();
    let (config, state, output) = file_setup(&server, d);
    let state0 = read(&state);
    let base = std::fs::read_to_string(&config).unwrap();
    let target = |cmd: &str| {
        format!(
            "[[target]]\nname = \"fw\"\nformat = \"nftables\"\nservices = [\"S3\"]\noutput = \"{}/fw.nft\"\napply = true\ncommand = {cmd}\n",
            d.display()
        )
    };
    std::fs::write(
        &config,
        format!(
            "{base}{}",
            target(r#"["sh", "-c", "echo no such table >&2; exit 1", "sh"]"#)
        ),
    )
    .unwrap();
    server.serve(fixture(AWS_NEW));
    let r = sync(&config, &[]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("1 of 3 targets failed (fw)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("no such table"),
        "the tool's message: {}",
        r.stderr
    );
    assert!(
        read(&state) == state0,
        "the state still names the old version"
    );
    assert!(
        String::from_utf8_lossy(&read(&output)).contains("syncToken 1787411825"),
        "other targets are written"
    );
    std::fs::write(&config, format!("{base}{}", target(r#"["true"]"#))).unwrap();
    ok(&sync(&config, &[]));
    let st: Value = serde_json::from_slice(&read(&state)).unwrap();
    assert_eq!(st["source"]["sync_token"], "1787411825");
    assert!(st["targets"]["fw"]["cidrs"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
}

/// A download larger than max_bytes is refused without retrying.
#[test]
fn an_oversized_download_is_refused() {
    let server = Server::start();
    let dir = tempdir();
    let d = dir.path();
    let (config, state, _) = file_setup(&server, d);
    let state0 = read(&state);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("max_bytes = 100000\n{text}")).unwrap();
    server.serve(fixture(AWS_NEW));
    let before = server.counts().0;
    let r = sync(&config, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("larger than the limit of 100000 bytes"),
        "{}",
        r.stderr
    );
    assert_eq!(server.counts().0, before + 1, "not retried");
    assert!(read(&state) == state0);
}

#[test]
fn sync_explains_bad_configurations_and_concurrent_runs() {
    let dir = tempdir();
    let d = dir.path();
    let config = d.join("sync.toml");
    let cases = [
        ("", "no [[target]]"),
        ("[[target]]\nname = \"a\"\nformat = \"xml\"\noutput = \"x\"\n", "format = \"xml\""),
        ("[[target]]\nname = \"a\"\nformat = \"nftables\"\n", "would do nothing"),
        ("[[target]]\nname = \"a\"\nformat = \"aws-waf\"\napply = true\nid = \"x\"\n", "one address family"),
        ("[[target]]\nname = \"a\"\nformat = \"iptables\"\napply = true\n", "ipset target"),
        ("[[target]]\nname = \"a\"\nformat = \"nftables\"\noutput = \"x\"\nservice = [\"S3\"]\n", "unknown field `service`"),
        ("max_shrink = 2.0\n[[target]]\nname = \"a\"\nformat = \"nftables\"\noutput = \"x\"\n", "max_shrink"),
        ("[[target]]\nname = \"a\"\nformat = \"nftables\"\noutput = \"x\"\n[[target]]\nname = \"a\"\nformat = \"pf\"\noutput = \"y\"\n", "two targets have this name"),
    ];
    for (text, msg) in cases {
        std::fs::write(&config, text).unwrap();
        let r = sync(&config, &["--dry-run"]);
        assert_eq!(r.code, 2, "{text}");
        assert!(
            r.stderr.contains(msg),
            "{text}: expected {msg:?} in {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("sync.toml"),
            "names the file: {}",
            r.stderr
        );
    }
    // A selection with a typo is refused before anything is written.
    std::fs::write(
        &config,
        format!("[[target]]\nname = \"a\"\nformat = \"nftables\"\nservices = [\"S4\"]\noutput = \"{}/a.nft\"\n", d.display()),
    )
    .unwrap();
    let f = data(AWS_NEW);
    let r = sync(&config, &["--input", f.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown service \"S4\""), "{}", r.stderr);
    assert!(!d.join("a.nft").exists());
    // Another sync holding the lock.
    std::fs::write(
        &config,
        format!("[[target]]\nname = \"a\"\nformat = \"nftables\"\nservices = [\"S3\"]\noutput = \"{}/a.nft\"\n", d.display()),
    )
    .unwrap();
    let lock = std::fs::File::create(d.join("ipfence-state.json.lock")).unwrap();
    lock.lock().unwrap();
    let r = sync(&config, &["--input", f.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("another ipfence sync is running"),
        "{}",
        r.stderr
    );
    drop(lock);
    ok(&sync(&config, &["--input", f.to_str().unwrap()]));
    // Over quota: a security group takes 60 rules per family; refused, or summarized.
    // EC2 in eu-west-1 has 70 IPv4 prefixes.
    let sg = format!(
        "[[target]]\nname = \"sg\"\nformat = \"aws-security-group\"\nservices = [\"EC2\"]\nregions = [\"eu-west-1\"]\nfamily = \"ipv4\"\noutput = \"{}/sg.json\"\n",
        d.display()
    );
    std::fs::write(&config, &sg).unwrap();
    let q = d.join("q.json");
    let quota_run = || {
        sync(
            &config,
            &[
                "--input",
                f.to_str().unwrap(),
                "--state",
                q.to_str().unwrap(),
            ],
        )
    };
    let r = quota_run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("over its quota of 60"), "{}", r.stderr);
    assert!(!d.join("sg.json").exists());
    std::fs::write(&config, format!("{sg}over_quota = \"summarize\"\n")).unwrap();
    let r = quota_run();
    ok(&r);
    assert!(r.stderr.contains("summarized into 60"), "{}", r.stderr);
    let out: Value = serde_json::from_slice(&read(&d.join("sg.json"))).unwrap();
    let ranges: Vec<&Value> = out[0]["IpPermissions"][0]["IpRanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["CidrIp"])
        .collect();
    assert_eq!(ranges.len(), 60);
    let fitted = set_of(ranges);
    let exact = ipfence_set(
        AWS_NEW,
        &["--service", "EC2", "--region", "eu-west-1", "--ipv4"],
    );
    assert_eq!(
        fitted.union(&exact),
        fitted,
        "summarizing never drops an address"
    );
    // EC2 in us-east-1 (232 prefixes) into 60 would allow 5.6 times its addresses more:
    // summarize refuses so wide an allowlist (issue 13, item 1).
    std::fs::write(
        &config,
        format!(
            "{}over_quota = \"summarize\"\n",
            sg.replace("eu-west-1", "us-east-1")
        ),
    )
    .unwrap();
    let r = quota_run();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("refusing so wide an allowlist"),
        "{}",
        r.stderr
    );
    // The example configuration in the repository parses, and its names and ids are
    // valid: the only problems a dry run may find here are this machine's (folders
    // under /etc, tools not installed).
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sync.toml");
    let r = sync(
        &example,
        &[
            "--dry-run",
            "--input",
            f.to_str().unwrap(),
            "--state",
            d.join("x.json").to_str().unwrap(),
        ],
    );
    assert!(r.code == 0 || r.code == 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("target route53-health"), "{}", r.stdout);
    for line in r.stderr.lines().filter(|l| l.contains("problem: target")) {
        assert!(
            line.contains("does not exist") || line.contains("on PATH"),
            "{line}"
        );
    }
}

/// The first address of each of the first `n` CIDRs of a family: inside the set.
fn inside(set: &PrefixSet, v6: bool, n: usize) -> Vec<String> {
    set.cidrs()
        .filter(|c| c.addr().is_ipv6() == v6)
        .take(n)
        .map(|c| c.addr().to_string())
        .collect()
}

/// The kernel lost its tables between two runs (nft flush ruleset, ipset destroy: what a
/// reboot or a fresh namespace does): `--check` names the drifted targets and exits 1,
/// the next run (plain, `--force` or `--restore`) restores them in full, the kernel then
/// answers for addresses inside and outside exactly as the state says; a deleted or
/// edited output file of a target that is not applied is restored too.
#[test]
fn a_flushed_kernel_or_a_deleted_output_is_restored_from_the_state() {
    if !needs_kernel_tools() {
        return;
    }
    let ns = Netns::start();
    let dir = tempdir();
    let d = dir.path();
    let config = d.join("sync.toml");
    std::fs::write(
        &config,
        format!(
            r#"url = "http://127.0.0.1:9/unreachable.json"
retries = 0

[[target]]
name = "ec2_apne1"
format = "nftables"
services = ["EC2"]
regions = ["ap-northeast-1"]
apply = true
command = {nft}

[[target]]
name = "amazon_use2"
format = "ipset"
services = ["AMAZON"]
regions = ["us-east-2"]
output = "{d}/amazon.ipset"
apply = true
command = {ipset}

[[target]]
name = "s3"
format = "nftables"
services = ["S3"]
regions = ["eu-west-1"]
output = "{d}/s3.nft"
"#,
            d = d.display(),
            nft = ns.command("nft"),
            ipset = ns.command("ipset"),
        ),
    )
    .unwrap();
    let file = data(AWS_NEW);
    let input = ["--input", file.to_str().unwrap()];
    let nft_want = ipfence_set(AWS_NEW, &["--service", "EC2", "--region", "ap-northeast-1"]);
    let ipset_want = ipfence_set(AWS_NEW, &["--service", "AMAZON", "--region", "us-east-2"]);
    let outside = ["192.0.2.1", "2001:db8::1"];
    let kernel_holds_the_state = || {
        let nft = ns.run(&["nft", "-j", "list", "table", "inet", "ec2_apne1"]);
        assert_eq!(nft_set(&nft), nft_want, "nftables sets");
        let ipset = ipset_set(&ns.run(&["ipset", "list", "amazon_use2-v4"]))
            .union(&ipset_set(&ns.run(&["ipset", "list", "amazon_use2-v6"])));
        assert_eq!(ipset, ipset_want, "ipset sets");
        for (v6, fam) in [(false, "v4"), (true, "v6")] {
            for a in inside(&nft_want, v6, 20) {
                let set = format!("ec2_apne1_{fam}");
                let elem = format!("{{ {a} }}");
                assert!(
                    ns.status(&["nft", "get", "element", "inet", "ec2_apne1", &set, &elem]),
                    "nft holds {a}"
                );
            }
            for a in inside(&ipset_want, v6, 20) {
                let set = format!("amazon_use2-{fam}");
                assert!(ns.status(&["ipset", "test", &set, &a]), "ipset holds {a}");
            }
            let a = outside[usize::from(v6)];
            let elem = format!("{{ {a} }}");
            let set = format!("ec2_apne1_{fam}");
            assert!(!ns.status(&["nft", "get", "element", "inet", "ec2_apne1", &set, &elem]));
            assert!(!ns.status(&["ipset", "test", &format!("amazon_use2-{fam}"), a]));
        }
    };
    let flush = || {
        ns.run(&["nft", "flush", "ruleset"]);
        ns.run(&["ipset", "destroy"]);
    };
    let check = |args: &[&str]| {
        let mut all = input.to_vec();
        all.extend_from_slice(args);
        sync(&config, &all)
    };

    ok(&check(&[]));
    kernel_holds_the_state();
    ok(&check(&["--check"]));

    // Flushed: --check names both applied targets, and not the file target.
    flush();
    let r = check(&["--check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .starts_with("ipfence sync: drifted: 2 of 3 targets"),
        "{}",
        r.stdout
    );
    for name in ["target ec2_apne1 (nftables)", "target amazon_use2 (ipset)"] {
        assert!(r.stdout.contains(name), "{name}: {}", r.stdout);
    }
    assert!(!r.stdout.contains("target s3"), "{}", r.stdout);
    let lacks = format!("lack {} CIDRs", nft_want.cidr_count());
    assert!(r.stdout.contains(&lacks), "{lacks}: {}", r.stdout);

    // --force: restored in full, never an "incremental update" onto nothing.
    let r = check(&["--force"]);
    ok(&r);
    assert!(
        !r.stdout.contains("incremental update applied"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("target ec2_apne1 (nftables) drifted")
            && r.stderr.contains("target amazon_use2 (ipset) drifted"),
        "{}",
        r.stderr
    );
    kernel_holds_the_state();
    ok(&check(&["--check"]));

    // Flushed again: a plain run restores (it used to say "nothing to do").
    flush();
    let r = check(&[]);
    ok(&r);
    assert!(
        r.stdout.contains("target ec2_apne1 (nftables): restored"),
        "{}",
        r.stdout
    );
    kernel_holds_the_state();

    // Part of a set gone, and an address added by hand: both are drift.
    ns.run(&[
        "ipset",
        "del",
        "amazon_use2-v4",
        &format!("{}", ipset_want.cidrs().next().unwrap()),
    ]);
    ns.run(&["ipset", "add", "amazon_use2-v4", "192.0.2.1"]);
    let r = check(&["--check"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("lack 1 CIDRs") && r.stdout.contains("hold 1 CIDRs"),
        "{}",
        r.stdout
    );
    ok(&check(&[]));
    kernel_holds_the_state();

    // The file target: deleted, then edited.
    let s3 = d.join("s3.nft");
    let s3_text = read(&s3);
    std::fs::remove_file(&s3).unwrap();
    let r = check(&["--check"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("target s3 (nftables): the output file"),
        "{}",
        r.stdout
    );
    ok(&check(&[]));
    assert_eq!(rules(&read(&s3)), rules(&s3_text), "the file is back");
    std::fs::write(&s3, "table inet s3 {}\n").unwrap();
    assert_eq!(check(&["--check"]).code, 1);
    ok(&check(&[]));
    assert_eq!(rules(&read(&s3)), rules(&s3_text), "the edit is undone");
    ok(&check(&["--check"]));

    // Boot: --restore works from the state alone (the url is unreachable).
    flush();
    let r = sync(&config, &["--restore"]);
    ok(&r);
    assert!(r.stdout.contains("restored 2 of 3 targets"), "{}", r.stdout);
    kernel_holds_the_state();
    let r = sync(&config, &["--restore"]);
    ok(&r);
    assert!(r.stdout.contains("nothing to restore"), "{}", r.stdout);
}

/// AWS objects changed behind ipfence's back (the WAF IP set's addresses replaced, a
/// prefix list entry removed, an ipfence rule revoked): `--check` names each, the next
/// run restores each to the state's set.
#[test]
fn aws_objects_changed_by_hand_are_restored() {
    if !needs_emulator() {
        return;
    }
    let emu = Emulator::start();
    let dir = tempdir();
    let d = dir.path();
    let waf = emu.aws(&[
        "wafv2",
        "create-ip-set",
        "--name",
        "amazon-use2",
        "--scope",
        "REGIONAL",
        "--ip-address-version",
        "IPV4",
        "--addresses",
        "[]",
    ]);
    let waf_id = waf["Summary"]["Id"].as_str().unwrap().to_string();
    let pl = emu.aws(&[
        "ec2",
        "create-managed-prefix-list",
        "--prefix-list-name",
        "amazon-euw3",
        "--address-family",
        "IPv4",
        "--max-entries",
        "100",
    ]);
    let pl_id = pl["PrefixList"]["PrefixListId"]
        .as_str()
        .unwrap()
        .to_string();
    let vpc = emu.aws(&["ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"]);
    let sg = emu.aws(&[
        "ec2",
        "create-security-group",
        "--group-name",
        "ec2-euw3",
        "--description",
        "test",
        "--vpc-id",
        vpc["Vpc"]["VpcId"].as_str().unwrap(),
    ]);
    let sg_id = sg["GroupId"].as_str().unwrap().to_string();
    let config = d.join("sync.toml");
    std::fs::write(
        &config,
        format!(
            r#"[aws]
command = ["{aws}"]
endpoint_url = "{endpoint}"
region = "us-east-1"

[[target]]
name = "amazon-use2"
format = "aws-waf"
services = ["AMAZON"]
regions = ["us-east-2"]
family = "ipv4"
apply = true
id = "{waf_id}"

[[target]]
name = "amazon-euw3"
format = "aws-prefix-list"
services = ["AMAZON"]
regions = ["eu-west-3"]
family = "ipv4"
apply = true
id = "{pl_id}"

[[target]]
name = "ec2-euw3"
format = "aws-security-group"
services = ["EC2"]
regions = ["eu-west-3"]
family = "ipv4"
ports = [443]
apply = true
id = "{sg_id}"
"#,
            aws = venv("aws").display(),
            endpoint = emu.url,
        ),
    )
    .unwrap();
    let file = data(AWS_NEW);
    let run = |args: &[&str]| {
        let mut all = vec!["--input", file.to_str().unwrap()];
        all.extend_from_slice(args);
        sync(&config, &all)
    };
    let waf_want = ipfence_set(
        AWS_NEW,
        &["--service", "AMAZON", "--region", "us-east-2", "--ipv4"],
    );
    let pl_want = ipfence_set(
        AWS_NEW,
        &["--service", "AMAZON", "--region", "eu-west-3", "--ipv4"],
    );
    let sg_want = ipfence_set(
        AWS_NEW,
        &["--service", "EC2", "--region", "eu-west-3", "--ipv4"],
    );
    let get_waf = || {
        emu.aws(&[
            "wafv2",
            "get-ip-set",
            "--name",
            "amazon-use2",
            "--scope",
            "REGIONAL",
            "--id",
            &waf_id,
        ])
    };
    let held = || {
        let waf = set_of(get_waf()["IPSet"]["Addresses"].as_array().unwrap());
        let got = emu.aws(&[
            "ec2",
            "get-managed-prefix-list-entries",
            "--prefix-list-id",
            &pl_id,
        ]);
        let pl = set_of(
            got["Entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["Cidr"]),
        );
        let got = emu.aws(&["ec2", "describe-security-groups", "--group-ids", &sg_id]);
        let sg = set_of(
            got["SecurityGroups"][0]["IpPermissions"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| p["IpRanges"].as_array().unwrap())
                .map(|r| &r["CidrIp"]),
        );
        (waf, pl, sg)
    };
    ok(&run(&[]));
    assert_eq!(held(), (waf_want.clone(), pl_want.clone(), sg_want.clone()));
    ok(&run(&["--check"]));

    // Changed by hand.
    let lock = get_waf()["LockToken"].as_str().unwrap().to_string();
    emu.aws(&[
        "wafv2",
        "update-ip-set",
        "--name",
        "amazon-use2",
        "--scope",
        "REGIONAL",
        "--id",
        &waf_id,
        "--addresses",
        "192.0.2.0/24",
        "--lock-token",
        &lock,
    ]);
    let first = pl_want.cidrs().next().unwrap().to_string();
    let version = emu.aws(&[
        "ec2",
        "describe-managed-prefix-lists",
        "--prefix-list-ids",
        &pl_id,
    ])["PrefixLists"][0]["Version"]
        .as_u64()
        .unwrap();
    emu.aws(&[
        "ec2",
        "modify-managed-prefix-list",
        "--prefix-list-id",
        &pl_id,
        "--current-version",
        &version.to_string(),
        "--remove-entries",
        &format!("Cidr={first}"),
    ]);
    let rule = sg_want.cidrs().next().unwrap().to_string();
    emu.aws(&[
        "ec2",
        "revoke-security-group-ingress",
        "--group-id",
        &sg_id,
        "--protocol",
        "tcp",
        "--port",
        "443",
        "--cidr",
        &rule,
    ]);
    let r = run(&["--check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("drifted: 3 of 3 targets"), "{}", r.stdout);
    let lacks = format!(
        "target amazon-use2 (aws-waf): the live sets lack {} CIDRs",
        waf_want.cidr_count()
    );
    assert!(r.stdout.contains(&lacks), "{lacks}: {}", r.stdout);
    for name in [
        "target amazon-euw3 (aws-prefix-list): the live sets lack 1 CIDRs",
        "target ec2-euw3 (aws-security-group): the live sets lack 1 CIDRs",
    ] {
        assert!(r.stdout.contains(name), "{name}: {}", r.stdout);
    }
    let r = run(&[]);
    ok(&r);
    assert!(
        r.stderr.contains("target amazon-use2 (aws-waf) drifted"),
        "{}",
        r.stderr
    );
    assert_eq!(held(), (waf_want, pl_want, sg_want));
    ok(&run(&["--check"]));
}

/// A dry run checks what the real run needs and reports every problem, one line each
/// naming the target and field, then exits 2; the real run refuses the same
/// configuration before changing anything.
#[test]
fn a_dry_run_reports_every_problem_the_run_would_meet() {
    let dir = tempdir();
    let d = dir.path();
    let config = d.join("sync.toml");
    let ok_file = d.join("ok.nft");
    std::fs::write(
        &config,
        format!(
            r#"[aws]
command = ["/no/such/aws"]

[[target]]
name = "ok"
format = "nftables"
services = ["S3"]
output = "{ok}"

[[target]]
name = "api gateway"
format = "nftables"
services = ["S3"]
output = "{d}/api.nft"

[[target]]
name = "cloudfront"
format = "ipset"
services = ["CLOUDFRONT"]
output = "{d}/no/such/folder/cf.ipset"

[[target]]
name = "edge"
format = "nftables"
services = ["S3"]
apply = true
command = ["ipfence-no-such-tool", "nft"]

[[target]]
name = "waf"
format = "aws-waf"
services = ["S3"]
family = "ipv4"
apply = true
id = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

[[target]]
name = "pl"
format = "aws-prefix-list"
services = ["S3"]
family = "ipv4"
id = "pl-xyz"
output = "{d}/pl.json"

[[target]]
name = "sg"
format = "aws-security-group"
services = ["EC2"]
regions = ["eu-west-1"]
family = "ipv4"
id = "sg-12345"
output = "{d}/sg.json"
over_quota = "summarize"
"#,
            ok = ok_file.display(),
            d = d.display()
        ),
    )
    .unwrap();
    let file = data(AWS_NEW);
    let r = sync(&config, &["--dry-run", "--input", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let problems: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("ipfence: problem: "))
        .collect();
    let expected = [
        "target api gateway (nftables): nftables: name \"api gateway\"",
        &format!("target cloudfront (ipset): output = \"{}/no/such/folder/cf.ipset\": the folder", d.display()),
        "target edge (nftables): command: \"ipfence-no-such-tool\" is not an executable file on PATH",
        "target waf (aws-waf): [aws] command: \"/no/such/aws\" is not an executable file",
        "target waf (aws-waf): id = \"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111\": not a WAF IP set id",
        "target pl (aws-prefix-list): id = \"pl-xyz\": not a prefix list id",
        "target sg (aws-security-group): id = \"sg-12345\": not a security group id",
    ];
    for e in expected {
        assert!(
            problems.iter().any(|p| p.contains(e)),
            "expected {e:?} among\n{}",
            problems.join("\n")
        );
    }
    assert_eq!(problems.len(), expected.len(), "{}", problems.join("\n"));
    assert!(r.stderr.contains("7 problem(s)"), "{}", r.stderr);
    // The real run refuses before writing anything, naming the same problems.
    let r = sync(&config, &["--input", file.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot be applied; nothing was changed"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("not a prefix list id"), "{}", r.stderr);
    assert!(!ok_file.exists(), "nothing was written");
    assert!(!d.join("ipfence-state.json").exists());
}

/// A file:// URL reads a local mirror; an address that is not http(s) or file, or is
/// malformed, is one clear error and is not retried.
#[test]
fn file_urls_are_read_and_bad_urls_are_not_retried() {
    let dir = tempdir();
    let d = dir.path();
    let config = d.join("sync.toml");
    let target = format!(
        "[[target]]\nname = \"s3\"\nformat = \"nftables\"\nservices = [\"S3\"]\noutput = \"{}/s3.nft\"\n",
        d.display()
    );
    let file = data(AWS_NEW);
    std::fs::write(
        &config,
        format!(
            "url = \"file://{}\"\nretry_delay_ms = 10\n{target}",
            file.display()
        ),
    )
    .unwrap();
    let r = sync(&config, &[]);
    ok(&r);
    assert!(
        r.stdout.contains("applied syncToken 1787411825"),
        "{}",
        r.stdout
    );
    let r = sync(&config, &[]);
    ok(&r);
    assert!(r.stdout.contains("already applied"), "{}", r.stdout);
    for (url, msg) in [
        (
            "ftp://example.com/ip-ranges.json",
            "not an https://, http:// or file:/// address",
        ),
        ("file://relative/ip-ranges.json", "absolute path"),
        (
            "http://127.0.0.1:notaport/x.json",
            "the port is not a number",
        ),
        ("http://exa mple.com/x.json", "not a well-formed address"),
    ] {
        let r = sync(&config, &["--url", url]);
        assert_eq!(r.code, 2, "{url}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(msg),
            "{url}: expected {msg:?} in {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("retrying"),
            "{url}: retried: {}",
            r.stderr
        );
    }
    // A missing file: the path named, no retry.
    let missing = d.join("missing.json");
    let r = sync(
        &config,
        &["--url", &format!("file://{}", missing.display())],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("missing.json: cannot open"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("retrying"), "{}", r.stderr);
}
