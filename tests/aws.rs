//! AWS outputs driven through the real `aws` CLI against a local emulator (moto on
//! 127.0.0.1, fake credentials), using exactly the JSON `ipfence export` writes, then read
//! back and compared with ipfence's set; and every payload checked against the limits
//! and patterns in botocore's service models, which the emulator does not all enforce.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ipfence_core::{IpNet, PrefixSet};
use serde_json::Value;

use crate::util::{data, ipfence, needs, venv_bin, AWS_NEW};

const AWS_MONTH_BEFORE: &str = "aws/ip-ranges-2026-07-23-16-17-05.json";

/// A program of the aws CLI + moto emulator venv; call [`needs_emulator`] first.
pub(crate) fn venv(bin: &str) -> PathBuf {
    venv_bin("aws", bin)
}

/// The aws CLI and the moto emulator (`.venv/aws`, made by scripts/setup-aws-emulator).
#[track_caller]
pub(crate) fn needs_emulator() -> bool {
    needs(
        "the aws CLI and the moto emulator in .venv/aws (run scripts/setup-aws-emulator)",
        || {
            ["aws", "moto_server", "python"]
                .iter()
                .all(|b| venv(b).exists())
        },
    )
}

/// The emulator's fake credentials and region, for anything that runs the `aws` CLI.
pub(crate) fn fake_credentials(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
}

/// A moto server on a free loopback port, stopped when dropped.
pub(crate) struct Emulator {
    child: Child,
    pub(crate) url: String,
}

impl Emulator {
    pub(crate) fn start() -> Emulator {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(venv("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let emu = Emulator {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        emu
    }

    /// Runs `aws ARGS --output json`; returns the parsed answer.
    pub(crate) fn aws(&self, args: &[&str]) -> Value {
        let out = fake_credentials(&mut Command::new(venv("aws")))
            .args(["--endpoint-url", &self.url, "--output", "json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn export(args: &[&str]) -> (Value, String) {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let r = ipfence(&all, "");
    assert_eq!(r.code, 0, "export {args:?}: {}", r.stderr);
    (serde_json::from_str(&r.stdout).unwrap(), r.stderr)
}

pub(crate) fn set_of<'a>(cidrs: impl IntoIterator<Item = &'a Value>) -> PrefixSet {
    cidrs
        .into_iter()
        .map(|v| v.as_str().unwrap().parse::<IpNet>().unwrap())
        .collect()
}

pub(crate) fn ipfence_set(input: &str, filter: &[&str]) -> PrefixSet {
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

#[test]
fn waf_ip_sets_create_and_update_with_lock_token() {
    if !needs_emulator() {
        return;
    }
    let emu = Emulator::start();
    let (old, new) = (data(AWS_MONTH_BEFORE), data(AWS_NEW));
    let filter = [
        "--service",
        "EC2",
        "--region",
        "us-east-1",
        "--ipv4",
        "--name",
        "ec2-use1",
    ];
    let mut args = vec!["--format", "aws-waf", "--input", old.to_str().unwrap()];
    args.extend_from_slice(&filter);
    let (payloads, _) = export(&args);
    let items = payloads.as_array().unwrap();
    assert_eq!(items.len(), 1);
    let created = emu.aws(&[
        "wafv2",
        "create-ip-set",
        "--cli-input-json",
        &items[0].to_string(),
    ]);
    let id = created["Summary"]["Id"].as_str().unwrap().to_string();
    let got = emu.aws(&[
        "wafv2",
        "get-ip-set",
        "--name",
        "ec2-use1-v4",
        "--scope",
        "REGIONAL",
        "--id",
        &id,
    ]);
    let want_old = ipfence_set(AWS_MONTH_BEFORE, &filter[..5]);
    assert_eq!(
        set_of(got["IPSet"]["Addresses"].as_array().unwrap()),
        want_old
    );
    assert!(want_old.cidr_count() > 50, "a real set");
    // Update to the newer version with the LockToken from get-ip-set.
    let lock = got["LockToken"].as_str().unwrap();
    let mut args = vec![
        "--format",
        "aws-waf",
        "--style",
        "update",
        "--input",
        new.to_str().unwrap(),
        "--aws-id",
        &id,
        "--lock-token",
        lock,
    ];
    args.extend_from_slice(&filter);
    let (update, notes) = export(&args);
    assert!(notes.contains("replaces the whole address list"), "{notes}");
    emu.aws(&[
        "wafv2",
        "update-ip-set",
        "--cli-input-json",
        &update[0].to_string(),
    ]);
    let got = emu.aws(&[
        "wafv2",
        "get-ip-set",
        "--name",
        "ec2-use1-v4",
        "--scope",
        "REGIONAL",
        "--id",
        &id,
    ]);
    let want_new = ipfence_set(AWS_NEW, &filter[..5]);
    assert_ne!(want_new, want_old, "the month changed the set");
    assert_eq!(
        set_of(got["IPSet"]["Addresses"].as_array().unwrap()),
        want_new
    );
}

#[test]
fn waf_split_and_summarize_over_the_limit() {
    if !needs_emulator() {
        return;
    }
    let emu = Emulator::start();
    let args = [
        "--format",
        "aws-waf",
        "--service",
        "S3",
        "--ipv4",
        "--name",
        "s3",
        "--max-entries",
        "50",
    ];
    let (split, notes) = export(&args);
    let want = ipfence_set(AWS_NEW, &["--service", "S3", "--ipv4"]);
    let parts = split.as_array().unwrap();
    assert_eq!(parts.len(), want.cidr_count().div_ceil(50), "{notes}");
    assert!(notes.contains("split across"), "{notes}");
    let mut union = PrefixSet::new();
    for p in parts {
        assert!(p["Addresses"].as_array().unwrap().len() <= 50);
        let created = emu.aws(&["wafv2", "create-ip-set", "--cli-input-json", &p.to_string()]);
        let id = created["Summary"]["Id"].as_str().unwrap();
        let got = emu.aws(&[
            "wafv2",
            "get-ip-set",
            "--name",
            p["Name"].as_str().unwrap(),
            "--scope",
            "REGIONAL",
            "--id",
            id,
        ]);
        union = union.union(&set_of(got["IPSet"]["Addresses"].as_array().unwrap()));
    }
    assert_eq!(union, want);
    // Fitting S3's 175 IPv4 prefixes into 50 would more than double the set: refused.
    let mut s = args.to_vec();
    s.push("--summarize");
    let mut cmd = vec!["export"];
    cmd.extend_from_slice(&s);
    let refused = crate::util::ipfence(&cmd, "");
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("refusing so wide an allowlist"),
        "{}",
        refused.stderr
    );
    let at = s.iter().position(|a| *a == "50").unwrap();
    s[at] = "100";
    let (fit, notes) = export(&s);
    let addrs = set_of(fit[0]["Addresses"].as_array().unwrap());
    assert!(fit[0]["Addresses"].as_array().unwrap().len() <= 100);
    assert!(
        addrs.is_superset(&want),
        "summarizing never drops an address"
    );
    let extra = addrs.count_v4() - want.count_v4();
    assert!(
        notes.contains(&format!("{extra} extra addresses allowed")),
        "{notes}"
    );
}

#[test]
fn prefix_lists_create_then_modify_from_a_diff() {
    if !needs_emulator() {
        return;
    }
    let emu = Emulator::start();
    let (old, new) = (data(AWS_MONTH_BEFORE), data(AWS_NEW));
    let filter = [
        "--service",
        "EC2",
        "--region",
        "us-west-2",
        "--ipv4",
        "--name",
        "ec2-usw2",
    ];
    let mut args = vec![
        "--format",
        "aws-prefix-list",
        "--input",
        old.to_str().unwrap(),
    ];
    args.extend_from_slice(&filter);
    let (lists, _) = export(&args);
    let list = &lists[0];
    let want_old = ipfence_set(AWS_MONTH_BEFORE, &filter[..5]);
    assert!(
        want_old.cidr_count() > 100,
        "more than one call's worth: {}",
        want_old.cidr_count()
    );
    let created = emu.aws(&[
        "ec2",
        "create-managed-prefix-list",
        "--cli-input-json",
        &list["create"].to_string(),
    ]);
    let id = created["PrefixList"]["PrefixListId"]
        .as_str()
        .unwrap()
        .to_string();
    for call in list["modify"].as_array().unwrap() {
        let mut call = call.clone();
        call["PrefixListId"] = Value::String(id.clone());
        emu.aws(&[
            "ec2",
            "modify-managed-prefix-list",
            "--cli-input-json",
            &call.to_string(),
        ]);
    }
    let entries = |emu: &Emulator| -> PrefixSet {
        let got = emu.aws(&[
            "ec2",
            "get-managed-prefix-list-entries",
            "--prefix-list-id",
            &id,
        ]);
        got["Entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Cidr"].as_str().unwrap().parse::<IpNet>().unwrap())
            .collect()
    };
    assert_eq!(entries(&emu), want_old);
    let described = emu.aws(&[
        "ec2",
        "describe-managed-prefix-lists",
        "--prefix-list-ids",
        &id,
    ]);
    let version = described["PrefixLists"][0]["Version"]
        .as_u64()
        .unwrap()
        .to_string();
    let mut args = vec![
        "--format",
        "aws-prefix-list",
        "--input",
        new.to_str().unwrap(),
        "--diff-from",
        old.to_str().unwrap(),
        "--aws-id",
        &id,
        "--current-version",
        &version,
    ];
    args.extend_from_slice(&filter);
    let (calls, notes) = export(&args);
    assert!(notes.contains("modify call"), "{notes}");
    for call in calls.as_array().unwrap() {
        emu.aws(&[
            "ec2",
            "modify-managed-prefix-list",
            "--cli-input-json",
            &call.to_string(),
        ]);
    }
    let want_new = ipfence_set(AWS_NEW, &filter[..5]);
    assert_ne!(want_new, want_old);
    assert_eq!(entries(&emu), want_new);
}

#[test]
fn security_group_rules_authorize_then_update() {
    if !needs_emulator() {
        return;
    }
    let emu = Emulator::start();
    let (old, new) = (data(AWS_MONTH_BEFORE), data(AWS_NEW));
    let vpc = emu.aws(&["ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"]);
    let vpc_id = vpc["Vpc"]["VpcId"].as_str().unwrap();
    let sg = emu.aws(&[
        "ec2",
        "create-security-group",
        "--group-name",
        "ipfence-test",
        "--description",
        "ipfence test",
        "--vpc-id",
        vpc_id,
    ]);
    let sg_id = sg["GroupId"].as_str().unwrap().to_string();
    let filter = [
        "--service",
        "API_GATEWAY",
        "--region",
        "eu-west-1",
        "--ports",
        "443,8443",
    ];
    let mut args = vec![
        "--format",
        "aws-security-group",
        "--input",
        old.to_str().unwrap(),
    ];
    args.extend_from_slice(&filter);
    let (groups, _) = export(&args);
    assert_eq!(groups.as_array().unwrap().len(), 1, "fits one group");
    let perms = groups[0]["IpPermissions"].to_string();
    emu.aws(&[
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        &sg_id,
        "--ip-permissions",
        &perms,
    ]);
    let rules = |emu: &Emulator| -> Vec<(u64, PrefixSet)> {
        let d = emu.aws(&["ec2", "describe-security-groups", "--group-ids", &sg_id]);
        let mut out: Vec<(u64, PrefixSet)> = d["SecurityGroups"][0]["IpPermissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let cidrs = p["IpRanges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| &r["CidrIp"]);
                (p["FromPort"].as_u64().unwrap(), set_of(cidrs))
            })
            .collect();
        out.sort_by_key(|r| r.0);
        out
    };
    let want_old = ipfence_set(AWS_MONTH_BEFORE, &filter[..4]);
    assert_eq!(
        rules(&emu),
        vec![(443, want_old.clone()), (8443, want_old.clone())]
    );
    let mut args = vec![
        "--format",
        "aws-security-group",
        "--input",
        new.to_str().unwrap(),
        "--diff-from",
        old.to_str().unwrap(),
    ];
    args.extend_from_slice(&filter);
    let (update, _) = export(&args);
    for (verb, key) in [
        ("revoke-security-group-ingress", "Revoke"),
        ("authorize-security-group-ingress", "Authorize"),
    ] {
        if !update[key].as_array().unwrap().is_empty() {
            emu.aws(&[
                "ec2",
                verb,
                "--group-id",
                &sg_id,
                "--ip-permissions",
                &update[key].to_string(),
            ]);
        }
    }
    let want_new = ipfence_set(AWS_NEW, &filter[..4]);
    assert_eq!(rules(&emu), vec![(443, want_new.clone()), (8443, want_new)]);
}

/// Every payload against botocore's models: required members, name and description
/// patterns and lengths, list sizes; plus the documented quotas the models do not carry.
#[test]
fn payloads_satisfy_botocore_models() {
    if !needs_emulator() {
        return;
    }
    let python = venv("python");
    let dir = crate::util::tempdir();
    let write = |name: &str, args: &[&str]| {
        let (v, _) = export(args);
        std::fs::write(dir.path().join(name), v.to_string()).unwrap();
    };
    write("waf.json", &["--format", "aws-waf", "--service", "AMAZON"]);
    write(
        "waf-cf.json",
        &[
            "--format",
            "aws-waf",
            "--service",
            "CLOUDFRONT",
            "--scope",
            "CLOUDFRONT",
        ],
    );
    write(
        "pl.json",
        &[
            "--format",
            "aws-prefix-list",
            "--service",
            "EC2",
            "--region",
            "eu-west-1",
        ],
    );
    write(
        "sg.json",
        &[
            "--format",
            "aws-security-group",
            "--service",
            "S3",
            "--ports",
            "443",
        ],
    );
    let check = r#"
import gzip, json, re, sys, glob, botocore
root = botocore.__path__[0] + "/data"
def model(svc):
    f = sorted(glob.glob(f"{root}/{svc}/*/service-2.json.gz"))[-1]
    return json.load(gzip.open(f))["shapes"]
waf, ec2 = model("wafv2"), model("ec2")
def check_string(shapes, shape, value, where):
    s = shapes[shape]
    assert s.get("min", 0) <= len(value) <= s.get("max", 10**9), (where, shape, len(value))
    if "pattern" in s:
        assert re.match(s["pattern"], value), (where, shape, s["pattern"], value)
def check_request(shapes, op, payload, where):
    req = shapes[op]
    for r in req.get("required", []):
        assert r in payload, (where, "missing", r)
    for k, v in payload.items():
        assert k in req["members"], (where, "unknown member", k)
        shape = req["members"][k]["shape"]
        s = shapes[shape]
        if s["type"] == "string":
            if "enum" in s: assert v in s["enum"], (where, k, v)
            check_string(shapes, shape, v, where + "." + k)
        if s["type"] == "list":
            assert s.get("min", 0) <= len(v) <= s.get("max", 10**9), (where, k, len(v))
d = sys.argv[1]
for f in ["waf.json", "waf-cf.json"]:
    for i, p in enumerate(json.load(open(f"{d}/{f}"))):
        check_request(waf, "CreateIPSetRequest", p, f"{f}[{i}]")
        assert len(p["Addresses"]) <= 10000, "WAF quota: 10,000 addresses per IP set"
for i, item in enumerate(json.load(open(f"{d}/pl.json"))):
    check_request(ec2, "CreateManagedPrefixListRequest", item["create"], f"pl[{i}].create")
    assert item["create"]["MaxEntries"] <= 1000
    for j, m in enumerate(item["modify"]):
        check_request(ec2, "ModifyManagedPrefixListRequest", m, f"pl[{i}].modify[{j}]")
for i, g in enumerate(json.load(open(f"{d}/sg.json"))):
    for p in g["IpPermissions"]:
        assert len(p.get("IpRanges", [])) <= 60 and len(p.get("Ipv6Ranges", [])) <= 60, "60 rules per family"
        for r in p.get("IpRanges", []) + p.get("Ipv6Ranges", []):
            assert re.fullmatch(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}", r["Description"]), r["Description"]
print("ok")
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(check)
        .arg(dir.path())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn hostile_aws_names_are_rejected() {
    for name in [
        "a b",
        "a\"b",
        "a;b",
        "a\nb",
        "ré",
        "a{b}",
        "com.amazonaws.x",
    ] {
        for format in ["aws-waf", "aws-prefix-list", "aws-security-group"] {
            let r = ipfence(
                &[
                    "export",
                    "--format",
                    format,
                    "--service",
                    "S3",
                    "--name",
                    name,
                ],
                "",
            );
            assert_eq!(r.code, 2, "{format} accepted {name:?}");
            assert!(
                r.stderr.contains(&format!("{format}: name ")),
                "{}",
                r.stderr
            );
        }
    }
    let r = ipfence(
        &[
            "export",
            "--format",
            "aws-waf",
            "--service",
            "S3",
            "--scope",
            "GLOBAL",
        ],
        "",
    );
    assert!(
        r.stderr.contains("expected REGIONAL or CLOUDFRONT"),
        "{}",
        r.stderr
    );
}
