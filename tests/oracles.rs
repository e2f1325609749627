//! ipfence against independent implementations of the same questions.

use std::process::Command;

use crate::util::{data, ipfence, python, AWS_NEW};

/// The minimal cover equals netaddr.cidr_merge for real published prefixes, both
/// families, for several services and for everything.
#[test]
fn aggregate_equals_netaddr_cidr_merge() {
    let file = data(AWS_NEW);
    for service in ["API_GATEWAY", "S3", "EC2", "AMAZON"] {
        let ours = ipfence(
            &[
                "aggregate",
                "--input",
                file.to_str().unwrap(),
                "--service",
                service,
            ],
            "",
        );
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        let script = format!(
            "import json, netaddr\n\
             d = json.load(open({file:?}))\n\
             nets = [p['ip_prefix'] for p in d['prefixes'] if p['service'] == {service:?}]\n\
             nets += [p['ipv6_prefix'] for p in d['ipv6_prefixes'] if p['service'] == {service:?}]\n\
             for n in netaddr.cidr_merge(nets): print(n)\n",
            file = file.to_str().unwrap()
        );
        let out = Command::new(python())
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).unwrap();
        assert!(
            theirs.lines().count() > 10,
            "{service}: too few prefixes to be a real check"
        );
        assert_eq!(
            ours.stdout, theirs,
            "{service}: ipfence aggregate differs from netaddr.cidr_merge"
        );
    }
}
