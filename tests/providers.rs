//! Azure's, GitHub's, Oracle's and Atlassian's real files against an independent
//! extraction in Python (`json` and `ipaddress`): the same (prefix, service, region, extra)
//! entries, and the same longest match, with the same services, for thousands of addresses.

use std::collections::BTreeMap;
use std::process::Command;

use ipfence_core::source::{self, Options};
use ipfence_core::{Matcher, Ranges};

use crate::util::{data, python};

/// (prefix, service, region, extra).
type Row = (String, String, String, String);

/// The longest match: its prefix and the services published for it.
type Hit = (String, Vec<String>);

/// What the Python side prints: the entries, and addresses with their longest match.
#[derive(serde::Deserialize)]
struct Oracle {
    entries: Vec<Row>,
    lookups: Vec<(String, Option<Hit>)>,
}

/// The second half of every script: `entries` holds (prefix, service, region, extra)
/// tuples; longest match by trying every length, from the longest, in a table of
/// networks per length; addresses inside random prefixes (first, last, random) and
/// anywhere, from a fixed seed.
const LOOKUPS: &str = r#"
import ipaddress, json, random
def addr(version, n):
    return ipaddress.IPv4Address(n) if version == 4 else ipaddress.IPv6Address(n)
def network(version, n, length):
    return ipaddress.IPv4Network((n, length)) if version == 4 else ipaddress.IPv6Network((n, length))
nets = {}
for p, s, _, _ in entries:
    n = ipaddress.ip_network(p)
    nets.setdefault((n.version, int(n.network_address), n.prefixlen), set()).add(s)
def longest(ip):
    bits = ip.max_prefixlen
    for l in range(bits, -1, -1):
        key = (ip.version, int(ip) >> (bits - l) << (bits - l), l)
        if key in nets:
            return [str(network(*key)), sorted(nets[key])]
    return None
rng = random.Random(14)
uniq = sorted({p for p, _, _, _ in entries})
addrs = []
for _ in range(2000):
    n = ipaddress.ip_network(rng.choice(uniq))
    first, last = int(n.network_address), int(n.broadcast_address)
    addrs += [addr(n.version, a) for a in (first, last, rng.randint(first, last))]
for _ in range(2000):
    addrs.append(addr(4, rng.getrandbits(32)))
    # The global unicast space, where published IPv6 prefixes are.
    addrs.append(addr(6, (1 << 125) | rng.getrandbits(125)))
# Just outside a prefix, on both sides.
for p in rng.sample(uniq, min(500, len(uniq))):
    n = ipaddress.ip_network(p)
    for a in (int(n.network_address) - 1, int(n.broadcast_address) + 1):
        if 0 <= a < 1 << n.max_prefixlen:
            addrs.append(addr(n.version, a))
print(json.dumps({"entries": entries, "lookups": [[str(a), longest(a)] for a in addrs]}))
"#;

/// Runs `extract` (Python that sets `entries` from `d`, the file's JSON) on `file`.
fn oracle(file: &str, extract: &str) -> Oracle {
    let path = data(file);
    let script = format!(
        "import ipaddress, itertools, json\nd = json.load(open({path:?}))\nnet = lambda p: str(ipaddress.ip_network(p.strip()))\n{extract}\n{LOOKUPS}",
        path = path.to_str().unwrap()
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
    serde_json::from_slice(&out.stdout).unwrap()
}

/// ipfence reads `file` (detecting its layout) with the same entries as the oracle,
/// and the matcher built from it answers every address as the oracle does.
fn cross_check(file: &str, provider: &str, extract: &str) -> Ranges {
    let bytes = std::fs::read(data(file)).unwrap();
    let r = source::parse(&bytes, file, None, Options::default()).unwrap();
    let o = oracle(file, extract);
    let count = |v: Vec<Row>| {
        let mut m: BTreeMap<Row, usize> = BTreeMap::new();
        for t in v {
            *m.entry(t).or_default() += 1;
        }
        m
    };
    let ours: Vec<_> = r
        .entries
        .iter()
        .map(|e| {
            let t = r.tags(e);
            assert_eq!(t.provider, provider);
            (
                e.prefix.to_string(),
                t.service.to_string(),
                t.region.to_string(),
                t.extra.to_string(),
            )
        })
        .collect();
    assert!(
        o.entries.len() > 100,
        "{file}: too few entries to be a check"
    );
    assert_eq!(ours.len(), o.entries.len(), "{file}: entry count");
    assert!(
        count(ours) == count(o.entries),
        "{file}: entries differ from Python's"
    );
    let m = Matcher::build(&r).unwrap();
    let mut hits = 0;
    for (addr, want) in &o.lookups {
        let got = m.lookup(addr.parse().unwrap()).map(|h| {
            let mut services: Vec<String> = h.entries().map(|t| t.service.to_string()).collect();
            services.sort();
            services.dedup();
            (h.prefix().to_string(), services)
        });
        assert_eq!(&got, want, "{file}: lookup {addr}");
        hits += usize::from(got.is_some());
    }
    assert!(
        hits > 3000 && hits < o.lookups.len(),
        "{file}: {hits} of {} addresses inside: not a real check",
        o.lookups.len()
    );
    r
}

#[test]
fn azure_matches_python() {
    let r = cross_check(
        "azure/ServiceTags_Public.json",
        "azure",
        "entries = [(net(p), v['name'], v['properties'].get('region', ''), v['properties'].get('systemService', ''))\n\
         \x20          for v in d['values'] for p in v['properties']['addressPrefixes']]",
    );
    assert_eq!(r.len(), 101_516);
    assert_eq!(r.sources[0].sync_token.as_deref(), Some("398"));
}

#[test]
fn github_matches_python() {
    // Independently: every list whose elements all read as networks.
    let r = cross_check(
        "github/meta.json",
        "github",
        "def nets(v):\n\
         \x20   try:\n\
         \x20       return [net(p) for p in v]\n\
         \x20   except Exception:\n\
         \x20       return []\n\
         entries = [(n, k, '', '') for k, v in d.items() if isinstance(v, list) for n in nets(v)]",
    );
    assert_eq!(r.len(), 7_652);
}

#[test]
fn oracle_matches_python() {
    let r = cross_check(
        "oracle/public_ip_ranges.json",
        "oracle",
        "entries = [(net(c['cidr']), t, r['region'], '') for r in d['regions'] for c in r['cidrs']\n\
         \x20          for t in (c['tags'] or [''])]",
    );
    assert_eq!(
        r.sources[0].create_date.as_deref(),
        Some("2025-07-31T18:18:01.103975")
    );
}

#[test]
fn atlassian_matches_python() {
    let r = cross_check(
        "atlassian/ip-ranges.json",
        "atlassian",
        "entries = [(net(i['cidr']), p, r, di) for i in d['items']\n\
         \x20          for p, r, di in itertools.product(i['product'] or [''], i['region'] or [''], i['direction'] or [''])]",
    );
    assert_eq!(r.sources[0].sync_token.as_deref(), Some("1781669326"));
}
