//! Differences between two versions of a source: which published entries appeared or
//! disappeared (with their tags), what that means for the address set, and a summary per
//! service and region.
//!
//! ```
//! use ipfence_core::{diff, Ranges, Tags};
//! let t = Tags { provider: "aws", service: "AMAZON", region: "ap-southeast-3", extra: "ap-southeast-3" };
//! let old = Ranges::new();
//! let mut new = Ranges::new();
//! new.push("1.178.86.0/24".parse().unwrap(), t);
//! let d = diff::diff(&old, &new);
//! assert_eq!(d.added.len(), 1);
//! assert_eq!(d.summary()[0].added, 1);
//! ```

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use ipnet::IpNet;

use crate::{PrefixSet, Ranges};

/// A published prefix with its tags, owned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaggedPrefix {
    /// The prefix.
    pub prefix: IpNet,
    /// Service (empty when the format has none).
    pub service: String,
    /// Region (empty when the format has none).
    pub region: String,
    /// Network border group (empty when the format has none).
    pub extra: String,
}

/// One row of [`Diff::summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// Service.
    pub service: String,
    /// Region.
    pub region: String,
    /// Entries added for this service and region.
    pub added: usize,
    /// Entries removed for this service and region.
    pub removed: usize,
}

/// What changed between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Entries (prefix + tags) in the new version only, sorted.
    pub added: Vec<TaggedPrefix>,
    /// Entries in the old version only, sorted.
    pub removed: Vec<TaggedPrefix>,
    /// Addresses covered now that were not before.
    pub added_set: PrefixSet,
    /// Addresses covered before that are not now.
    pub removed_set: PrefixSet,
}

impl Diff {
    /// Whether the two versions publish the same entries.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// Added and removed entry counts per service and region, sorted by service, region.
    pub fn summary(&self) -> Vec<SummaryRow> {
        let mut rows: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
        for e in &self.added {
            rows.entry((&e.service, &e.region)).or_default().0 += 1;
        }
        for e in &self.removed {
            rows.entry((&e.service, &e.region)).or_default().1 += 1;
        }
        rows.into_iter()
            .map(|((service, region), (added, removed))| SummaryRow {
                service: service.into(),
                region: region.into(),
                added,
                removed,
            })
            .collect()
    }
}

fn keys(r: &Ranges) -> BTreeSet<(IpNet, &str, &str, &str)> {
    r.entries
        .iter()
        .map(|e| {
            let t = r.tags(e);
            (e.prefix, t.service, t.region, t.extra)
        })
        .collect()
}

fn owned(k: &(IpNet, &str, &str, &str)) -> TaggedPrefix {
    TaggedPrefix {
        prefix: k.0,
        service: k.1.into(),
        region: k.2.into(),
        extra: k.3.into(),
    }
}

/// Compares two versions entry by entry (prefix + service + region + border group;
/// the same entry listed twice counts once) and address by address.
pub fn diff(old: &Ranges, new: &Ranges) -> Diff {
    let (ko, kn) = (keys(old), keys(new));
    let (so, sn) = (old.to_set(), new.to_set());
    Diff {
        added: kn.difference(&ko).map(owned).collect(),
        removed: ko.difference(&kn).map(owned).collect(),
        added_set: sn.difference(&so),
        removed_set: so.difference(&sn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tags;
    use alloc::string::ToString;

    fn r(list: &[(&str, &str, &str)]) -> Ranges {
        let mut r = Ranges::new();
        for (p, service, region) in list {
            r.push(
                p.parse().unwrap(),
                Tags {
                    provider: "aws",
                    service,
                    region,
                    extra: region,
                },
            );
        }
        r
    }

    #[test]
    fn retagging_is_a_change_but_not_an_address_change() {
        let old = r(&[
            ("3.5.140.0/22", "AMAZON", "ap-northeast-2"),
            ("52.94.0.0/22", "EC2", "us-east-1"),
        ]);
        let new = r(&[
            ("3.5.140.0/22", "AMAZON", "ap-northeast-2"),
            ("52.94.0.0/22", "EC2", "us-east-2"),
            ("1.178.86.0/24", "AMAZON", "ap-southeast-3"),
        ]);
        let d = diff(&old, &new);
        assert_eq!(d.added.len(), 2);
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.removed[0].region, "us-east-1");
        let added: Vec<_> = d.added_set.cidrs().map(|n| n.to_string()).collect();
        assert_eq!(added, ["1.178.86.0/24"]);
        assert!(d.removed_set.is_empty());
        let s = d.summary();
        assert_eq!(s.len(), 3);
        assert_eq!(
            (
                s[1].service.as_str(),
                s[1].region.as_str(),
                s[1].added,
                s[1].removed
            ),
            ("EC2", "us-east-1", 0, 1)
        );
    }

    #[test]
    fn same_input_is_empty() {
        let a = r(&[
            ("3.5.140.0/22", "AMAZON", "x"),
            ("3.5.140.0/22", "AMAZON", "x"),
        ]);
        assert!(diff(&a, &a).is_empty());
    }
}
