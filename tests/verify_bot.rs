//! `ipfence verify-bot` and `ipfence_core::crawler` on Google's real crawler lists
//! (tests/data/google: googlebot.json, special-crawlers.json, user-triggered-fetchers.json),
//! and on Bing's and OpenAI's lists as HAND-WRITTEN samples: tests/data/bing/bingbot.json
//! and tests/data/openai/*.json were written by hand in the published layout from each
//! operator's documentation (tests/data/bing/README.md, tests/data/openai/README.md); they
//! are not the published files.

use std::net::IpAddr;

use ipfence_core::crawler::{self, Loaded, Verdict, CRAWLERS};
use ipfence_core::source::{self, Label, Options};
use ipfence_core::{IpNet, Matcher, Ranges};
use serde_json::Value;

use crate::util::{data, ipfence};

/// The real Google crawler lists, each read under its name.
fn google() -> Ranges {
    let mut all = Ranges::new();
    for name in ["googlebot", "special-crawlers", "user-triggered-fetchers"] {
        let path = data(&format!("google/{name}.json"));
        let bytes = std::fs::read(&path).unwrap();
        let label = Label::new(name).unwrap();
        let r =
            source::parse_labeled(&bytes, name, None, Some(&label), Options::default()).unwrap();
        all.extend(&r);
    }
    all
}

/// The first and last address of a prefix, and the ones just outside it.
fn edges(p: IpNet) -> ([IpAddr; 2], [Option<IpAddr>; 2]) {
    let (first, last) = (p.network(), p.broadcast());
    let step = |a: IpAddr, up: bool| -> Option<IpAddr> {
        match a {
            IpAddr::V4(a) => {
                let n = u32::from(a);
                let n = if up {
                    n.checked_add(1)
                } else {
                    n.checked_sub(1)
                }?;
                Some(IpAddr::V4(n.into()))
            }
            IpAddr::V6(a) => {
                let n = u128::from(a);
                let n = if up {
                    n.checked_add(1)
                } else {
                    n.checked_sub(1)
                }?;
                Some(IpAddr::V6(n.into()))
            }
        }
    };
    ([first, last], [step(first, false), step(last, true)])
}

/// Every crawler of Google's three lists: the first and last address of every published
/// prefix, IPv4 and IPv6, is genuine with that prefix; an address just outside a prefix
/// (and in no other prefix of the list) is fake for the common and special-case crawlers
/// (their one list is loaded) and unverifiable for the user-triggered fetchers (two of
/// their three lists are not in the data).
#[test]
fn every_google_crawler_on_the_real_lists() {
    let r = google();
    let m = Matcher::build(&r).unwrap();
    let loaded = Loaded::of_ranges(&r);
    let mut checked = 0;
    for c in CRAWLERS.iter().filter(|c| c.operator == "Google") {
        let list = c.lists[0];
        let set: Vec<IpNet> = r
            .entries
            .iter()
            .filter(|e| r.tags(e).service == list.service.unwrap())
            .map(|e| e.prefix)
            .collect();
        assert!(set.iter().any(|p| p.addr().is_ipv4()), "{}", list.file);
        assert!(set.iter().any(|p| p.addr().is_ipv6()), "{}", list.file);
        for &p in &set {
            let (inside, outside) = edges(p);
            for ip in inside {
                match crawler::verify(&m, loaded, c.token, ip) {
                    Verdict::Genuine {
                        crawler,
                        list: l,
                        prefix,
                        ..
                    } => {
                        assert_eq!((crawler.token, l.file, prefix), (c.token, list.file, p))
                    }
                    v => panic!("{} from {ip}: {v}", c.token),
                }
                checked += 1;
            }
            for ip in outside.into_iter().flatten() {
                if set.iter().any(|q| q.contains(&ip)) {
                    continue;
                }
                let v = crawler::verify(&m, loaded, c.token, ip);
                let want = if c.lists.len() == 1 {
                    "fake"
                } else {
                    "unverifiable"
                };
                assert_eq!(v.kind(), want, "{} from {ip}: {v}", c.token);
                checked += 1;
            }
        }
        // An address of another Google crawler list is not this crawler's.
        let other = r
            .entries
            .iter()
            .find(|e| r.tags(e).service != list.service.unwrap())
            .unwrap();
        let v = crawler::verify(&m, loaded, c.token, other.prefix.network());
        assert_ne!(v.kind(), "genuine", "{} from {}", c.token, other.prefix);
    }
    assert!(checked > 20_000, "{checked}");
}

/// Runs `verify-bot --json` and returns one (ip, verdict, list, prefix) per line.
fn verify(ua: &str, extra: &[&str], ips: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args = vec!["verify-bot", "--json", "--user-agent", ua];
    args.extend_from_slice(extra);
    args.extend_from_slice(ips);
    let run = ipfence(&args, "");
    let lines = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (run.code, lines, run.stderr)
}

const GOOGLEBOT_UA: &str = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

#[test]
fn cli_on_the_embedded_google_lists() {
    // 66.249.79.64/27 and 2001:4860:4801:10::/64 are in the real googlebot.json;
    // 108.177.2.0/27 in special-crawlers.json.
    let (code, v, err) = verify(GOOGLEBOT_UA, &[], &["66.249.79.70", "2001:4860:4801:10::9"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v[0]["verdict"], "genuine");
    assert_eq!(v[0]["crawler"], "Googlebot");
    assert_eq!(v[0]["list"], "googlebot.json");
    assert_eq!(v[0]["prefix"], "66.249.79.64/27");
    assert_eq!(v[1]["prefix"], "2001:4860:4801:10::/64");
    assert!(err.contains("embedded data"), "{err}");
    // From a special crawler's address, or anywhere else: fake.
    let (code, v, _) = verify(
        GOOGLEBOT_UA,
        &[],
        &["66.249.79.70", "108.177.2.1", "203.0.113.9"],
    );
    assert_eq!(code, 1);
    let kinds: Vec<&str> = v.iter().map(|x| x["verdict"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["genuine", "fake", "fake"]);
    assert_eq!(v[2]["list"], Value::Null);
    // Case and spacing variants of a real user agent claim the same crawler.
    for ua in [
        "googlebot/2.1",
        "  GOOGLEBOT\t",
        "Mozilla/5.0 (compatible;Googlebot/2.1)",
    ] {
        let (code, v, _) = verify(ua, &[], &["66.249.79.70"]);
        assert_eq!(
            (code, v[0]["crawler"].as_str()),
            (0, Some("Googlebot")),
            "{ua}"
        );
    }
    // A special-case crawler from its own list.
    let (code, v, _) = verify(
        "AdsBot-Google (+http://www.google.com/adsbot.html)",
        &[],
        &["108.177.2.1"],
    );
    assert_eq!((code, v[0]["verdict"].as_str()), (0, Some("genuine")));
    // A user-triggered fetcher outside the one list of its three that is embedded.
    let (code, v, _) = verify(
        "FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)",
        &[],
        &["203.0.113.9"],
    );
    assert_eq!(code, 1);
    assert_eq!(v[0]["verdict"], "unverifiable");
    let msg = v[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("cannot verify") && msg.contains("user-triggered-agents.json"),
        "{msg}"
    );
    // Bing's and OpenAI's lists are not embedded: never fake, never genuine.
    let (code, v, _) = verify(
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        &[],
        &["157.55.39.1"],
    );
    assert_eq!((code, v[0]["verdict"].as_str()), (1, Some("unverifiable")));
    assert_eq!(v[0]["message"], "claims bingbot (Microsoft), which ipfence cannot verify (no published list loaded: bingbot.json)");
    // No claim at all: exit 0.
    let (code, v, _) = verify(
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        &[],
        &["203.0.113.9"],
    );
    assert_eq!((code, v[0]["verdict"].as_str()), (0, Some("none")));
}

#[test]
fn cli_text_stdin_and_errors() {
    let run = ipfence(
        &["verify-bot", "-A", "Googlebot/2.1"],
        "66.249.79.70\n# a comment\n203.0.113.9\n",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "66.249.79.70: genuine Googlebot (Google): 66.249.79.64/27 in googlebot.json\n\
         203.0.113.9: fake Googlebot: claims Google's Googlebot from an address in none of its lists (googlebot.json)\n"
    );
    let run = ipfence(&["verify-bot", "-A", "Googlebot", "66.249.79.300"], "");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("argument 1"), "{}", run.stderr);
    let run = ipfence(&["verify-bot", "66.249.79.70"], "");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--user-agent"), "{}", run.stderr);
}

/// Bing and OpenAI with their (HAND-WRITTEN, see the module docs) sample lists given
/// with --input NAME=FILE.
#[test]
fn cli_with_hand_written_bing_and_openai_lists() {
    let bing = format!("bingbot={}", data("bing/bingbot.json").display());
    let gpt = format!("gptbot={}", data("openai/gptbot.json").display());
    let user = format!(
        "chatgpt-user={}",
        data("openai/chatgpt-user.json").display()
    );
    let search = format!("searchbot={}", data("openai/searchbot.json").display());
    let inputs = ["-i", &bing, "-i", &gpt, "-i", &user, "-i", &search];
    let cases = [
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", "157.55.39.1", "bingbot.json"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.1; +https://openai.com/gptbot", "20.171.206.7", "gptbot.json"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", "23.98.142.180", "chatgpt-user.json"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot", "51.8.102.3", "searchbot.json"),
    ];
    for (ua, ip, file) in cases {
        let (code, v, err) = verify(ua, &inputs, &[ip, "66.249.79.70"]);
        assert_eq!(code, 1, "{ua}: {err}");
        assert_eq!(v[0]["verdict"], "genuine", "{ua}");
        assert_eq!(v[0]["list"], file, "{ua}");
        // Googlebot's address claiming this crawler is fake: its list is loaded.
        assert_eq!(v[1]["verdict"], "fake", "{ua}");
    }
    // Another OpenAI list's address is not GPTBot's.
    let (code, v, _) = verify("GPTBot/1.1", &inputs, &["51.8.102.3"]);
    assert_eq!((code, v[0]["verdict"].as_str()), (1, Some("fake")));
    // Googlebot is unverifiable without Google's list among the inputs.
    let (_, v, _) = verify("Googlebot/2.1", &inputs, &["66.249.79.70"]);
    assert_eq!(v[0]["verdict"], "unverifiable");
}

/// A crawler whose list ipfence has no name for (Applebot) is verified once its list is
/// given under the crawler's name, in any layout ipfence reads.
#[test]
fn cli_with_a_named_list_of_another_crawler() {
    let dir = crate::util::tempdir();
    // A hand-written CIDR list from the documentation range, for this test only.
    let file = dir.path().join("applebot.txt");
    std::fs::write(&file, "192.0.2.0/24\n").unwrap();
    let input = format!("applebot={}", file.display());
    let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)";
    let (code, v, _) = verify(ua, &["-i", &input], &["192.0.2.7", "198.51.100.1"]);
    assert_eq!(code, 1);
    assert_eq!(v[0]["verdict"], "genuine");
    assert_eq!(v[0]["list"], "applebot.json");
    assert_eq!(v[1]["verdict"], "fake");
    let (code, v, _) = verify(ua, &[], &["192.0.2.7"]);
    assert_eq!((code, v[0]["verdict"].as_str()), (1, Some("unverifiable")));
}
