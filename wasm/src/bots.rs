//! `verifyBot` in plain Rust: a verdict as one number (so that JS can keep one result
//! object per distinct answer) and that number back as the result's JSON.
//!
//! The code packs the verdict kind (2 bits: 0 none, 1 genuine, 2 fake, 3 unverifiable),
//! the crawler's index in the core's table (5 bits), the list's index (4 bits) and, for a
//! genuine verdict, the prefix id (the core's `Match::index` plus one) times 2^11: at
//! most 2^31 * 2^11 = 2^42, exact in a JS number.

use ipfence_core::crawler::{self, ClaimSet, Loaded, Verdict, CRAWLERS, LISTS};
use ipfence_core::{Match, Matcher};

use crate::fence::Fence;

use crate::json;

const KIND_BITS: u32 = 2;
const CRAWLER_SHIFT: u32 = KIND_BITS;
const LIST_SHIFT: u32 = CRAWLER_SHIFT + 5;
const ID_SCALE: f64 = (1u64 << (LIST_SHIFT + 4)) as f64;

/// The verdict for `ip` and the crawlers of `claimed`, as a code (module docs). Not
/// inlined: one copy for the four callers in the `.wasm`.
#[inline(never)]
pub fn code(f: &Fence, loaded: Loaded, claimed: ClaimSet, id: u32) -> f64 {
    // The longest match from its prefix id (the lookup's own walk: no second copy).
    let longest = (id as usize)
        .checked_sub(1)
        .and_then(|i| f.matcher().prefix_at(i));
    let v = if f.is_view() {
        verify_view(f, longest, loaded, claimed)
    } else {
        crawler::verify_longest(longest, loaded, claimed)
    };
    let (kind, c, l, id) = match v {
        Verdict::NoClaim => (0, 0, 0, 0),
        Verdict::Genuine {
            crawler,
            list,
            prefix_index,
            ..
        } => (
            1,
            crawler.index(),
            usize::from(list.index),
            prefix_index + 1,
        ),
        Verdict::Fake { crawler } => (2, crawler.index(), 0, 0),
        Verdict::Unverifiable { crawler, .. } => (3, crawler.index(), 0, 0),
    };
    let low = kind | (c as u32) << CRAWLER_SHIFT | (l as u32) << LIST_SHIFT;
    f64::from(low) + id as f64 * ID_SCALE
}

/// [`crawler::verify_longest`] for a view ([`Fence::view`]): the same walk from the
/// longest selected prefix through its parents, over the entries the view keeps only
/// (a prefix can have kept and dropped entries), and the same choice of the worst
/// verdict among the claimed crawlers.
#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn verify_view(
    f: &Fence,
    longest: Option<Match<'_>>,
    loaded: Loaded,
    claimed: ClaimSet,
) -> Verdict {
    // The core's order (`Verdict::rank`, private): fake, unverifiable, genuine, none.
    let rank = |v: &Verdict| match v {
        Verdict::NoClaim => 0,
        Verdict::Genuine { .. } => 1,
        Verdict::Unverifiable { .. } => 2,
        Verdict::Fake { .. } => 3,
    };
    let mut worst = Verdict::NoClaim;
    for c in claimed.iter() {
        let found = longest
            .into_iter()
            .flat_map(Match::and_parents)
            .filter(|m| f.may_hold(m))
            .find_map(|m| {
                m.entries().find_map(|t| {
                    let held = f.lists_of(&m, &t)?;
                    // The first of the crawler's lists that holds the entry, as the core picks.
                    let list = c.lists.iter().find(|l| held.has(l))?;
                    Some(Verdict::Genuine {
                        crawler: c,
                        list,
                        prefix: m.prefix(),
                        prefix_index: m.index(),
                    })
                })
            });
        // No kept entry holds it: the core's fake or unverifiable for the view's lists.
        let v = found.unwrap_or_else(|| crawler::verdict(c, std::iter::empty(), loaded));
        if rank(&v) > rank(&worst) {
            worst = v;
            if matches!(worst, Verdict::Fake { .. }) {
                break;
            }
        }
    }
    worst
}

/// The verdict a code stands for (`None` for a code no call returned).
fn decode(m: &Matcher<Vec<u8>>, loaded: Loaded, code: f64) -> Option<Verdict> {
    if !(0.0..9.0e15).contains(&code) || code.fract() != 0.0 {
        return None;
    }
    let id = (code / ID_SCALE).floor();
    let low = (code - id * ID_SCALE) as u32;
    let crawler = CRAWLERS.get((low >> CRAWLER_SHIFT & 31) as usize)?;
    Some(match low & 3 {
        0 => Verdict::NoClaim,
        1 => {
            let prefix_index = (id as usize).checked_sub(1)?;
            Verdict::Genuine {
                crawler,
                list: LISTS.get((low >> LIST_SHIFT & 15) as usize)?,
                prefix: m.prefix_at(prefix_index)?.prefix(),
                prefix_index,
            }
        }
        2 => Verdict::Fake { crawler },
        _ => Verdict::Unverifiable { crawler, loaded },
    })
}

/// `{"verdict","crawler","operator","list","prefix","message"}` for a code.
#[cfg_attr(target_arch = "wasm32", optimize(size))]
pub fn json(m: &Matcher<Vec<u8>>, loaded: Loaded, code: f64) -> Option<String> {
    let v = decode(m, loaded, code)?;
    let mut out = String::from("{");
    json::key(&mut out, "verdict");
    json::string(&mut out, v.kind());
    out.push(',');
    json::key(&mut out, "crawler");
    json::opt_string(&mut out, v.crawler().map(|c| c.token));
    out.push(',');
    json::key(&mut out, "operator");
    json::opt_string(&mut out, v.crawler().map(|c| c.operator));
    let (list, prefix) = match v {
        Verdict::Genuine { list, prefix, .. } => (Some(list.file), Some(prefix.to_string())),
        _ => (None, None),
    };
    out.push(',');
    json::key(&mut out, "list");
    json::opt_string(&mut out, list);
    out.push(',');
    json::key(&mut out, "prefix");
    json::opt_string(&mut out, prefix.as_deref());
    out.push(',');
    json::key(&mut out, "message");
    json::string(&mut out, &v.to_string());
    out.push('}');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipfence_core::{Ranges, Tags};

    #[test]
    fn codes_round_trip() {
        let mut r = Ranges::new();
        let t = |service| Tags {
            provider: "google",
            service,
            region: "",
            extra: "",
        };
        r.push("66.0.0.0/8".parse().unwrap(), t(""));
        r.push("66.249.64.0/27".parse().unwrap(), t("googlebot"));
        let m = Matcher::build(&r).unwrap();
        let l = Loaded::of_ranges(&r);
        let id = |m: &Matcher<Vec<u8>>, s: &str| crate::fast::id(m.lookup(s.parse().unwrap()));
        let f = Fence::from_vec(m.to_bytes()).unwrap();
        let c = code(&f, l, ClaimSet::of("Googlebot/2.1"), id(&m, "66.249.64.9"));
        let j: serde_json::Value = serde_json::from_str(&json(&m, l, c).unwrap()).unwrap();
        assert_eq!(j["verdict"], "genuine");
        assert_eq!(j["prefix"], "66.249.64.0/27");
        assert_eq!(j["list"], "googlebot.json");
        let c = code(&f, l, ClaimSet::of("Googlebot/2.1"), id(&m, "66.1.1.1"));
        let j: serde_json::Value = serde_json::from_str(&json(&m, l, c).unwrap()).unwrap();
        assert_eq!(j["verdict"], "fake");
        assert_eq!(j["prefix"], serde_json::Value::Null);
        let c = code(&f, l, ClaimSet::of("GPTBot"), id(&m, "66.1.1.1"));
        let j: serde_json::Value = serde_json::from_str(&json(&m, l, c).unwrap()).unwrap();
        assert_eq!(j["verdict"], "unverifiable");
        assert_eq!(code(&f, l, ClaimSet::default(), id(&m, "66.1.1.1")), 0.0);
        assert!(json(&m, l, -1.0).is_none());
        assert!(json(&m, l, 0.5).is_none());
    }
}
