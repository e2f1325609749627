//! Selecting entries by service, region, network border group and address family.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::ranges::Sym;
use crate::{Error, Ranges};

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

/// Which entries to keep. An empty list means "any"; names compare without regard to
/// ASCII case (`api_gateway` selects `API_GATEWAY`).
///
/// ```
/// use ipfence_core::{Family, Filter};
/// let f = Filter::default().services(["AMAZON"]).exclude_services(["EC2"]).family(Family::V4);
/// assert!(!f.is_everything());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// Keep entries of these providers (`aws`, `google`, ...). `github:hooks` keeps one
    /// provider's entries of one service only, so `cloudflare` and `github:hooks` make
    /// one selection of two providers.
    pub providers: Vec<String>,
    /// Keep entries of these services.
    pub services: Vec<String>,
    /// Drop every address published for these services (set difference, so "AMAZON
    /// minus EC2" removes addresses that EC2 lists, even under the AMAZON tag).
    pub exclude_services: Vec<String>,
    /// Keep entries of these regions.
    pub regions: Vec<String>,
    /// Keep entries with this extra field (AWS network border group, Atlassian
    /// direction, Azure system service).
    pub extras: Vec<String>,
    /// Keep only this family.
    pub family: Option<Family>,
}

fn any_eq(list: &[String], value: &str) -> bool {
    list.is_empty() || list.iter().any(|s| s.eq_ignore_ascii_case(value))
}

impl Filter {
    /// Adds providers to keep.
    pub fn providers<S: ToString>(mut self, s: impl IntoIterator<Item = S>) -> Self {
        self.providers.extend(s.into_iter().map(|x| x.to_string()));
        self
    }
    /// Adds services to keep.
    pub fn services<S: ToString>(mut self, s: impl IntoIterator<Item = S>) -> Self {
        self.services.extend(s.into_iter().map(|x| x.to_string()));
        self
    }
    /// Adds services whose addresses are removed.
    pub fn exclude_services<S: ToString>(mut self, s: impl IntoIterator<Item = S>) -> Self {
        self.exclude_services
            .extend(s.into_iter().map(|x| x.to_string()));
        self
    }
    /// Adds regions to keep.
    pub fn regions<S: ToString>(mut self, s: impl IntoIterator<Item = S>) -> Self {
        self.regions.extend(s.into_iter().map(|x| x.to_string()));
        self
    }
    /// Adds extra-field values (AWS network border groups, ...) to keep.
    pub fn extras<S: ToString>(mut self, s: impl IntoIterator<Item = S>) -> Self {
        self.extras.extend(s.into_iter().map(|x| x.to_string()));
        self
    }
    /// Keeps one family only.
    pub fn family(mut self, f: Family) -> Self {
        self.family = Some(f);
        self
    }

    /// Whether this filter keeps everything.
    pub fn is_everything(&self) -> bool {
        *self == Filter::default()
    }

    fn keeps_family(&self, net: &ipnet::IpNet) -> bool {
        matches!(
            (self.family, net),
            (None, _)
                | (Some(Family::V4), ipnet::IpNet::V4(_))
                | (Some(Family::V6), ipnet::IpNet::V6(_))
        )
    }

    /// The entries this filter keeps, with their tags, and the sources of the providers
    /// they come from. An excluded service removes
    /// addresses: a kept entry that overlaps one is replaced by the CIDRs of what is
    /// left of it, with the same tags, so the result is exact.
    pub fn select(&self, ranges: &Ranges) -> Ranges {
        let excluded = self.excluded_set(ranges);
        let mut out = Ranges {
            sources: ranges.sources.clone(),
            ..Ranges::default()
        };
        // Each (provider, service, region, extra) decided once: a few thousand tag sets
        // stand for a hundred thousand entries.
        let mut decided: hashbrown::HashMap<[Sym; 4], bool> = hashbrown::HashMap::new();
        for e in &ranges.entries {
            let t = ranges.tags(e);
            let keep = *decided
                .entry([e.provider, e.service, e.region, e.extra])
                .or_insert_with(|| {
                    self.keeps_provider(t.provider, t.service)
                        && any_eq(&self.services, t.service)
                        && any_eq(&self.regions, t.region)
                        && any_eq(&self.extras, t.extra)
                })
                && self.keeps_family(&e.prefix);
            if !keep {
                continue;
            }
            match &excluded {
                Some(x) if !x.is_disjoint_from(e.prefix) => {
                    let one: crate::PrefixSet = core::iter::once(e.prefix).collect();
                    for rest in one.difference(x).cidrs() {
                        out.push(rest, t);
                    }
                }
                _ => out.push(e.prefix, t),
            }
        }
        // The sources of the providers kept: an allowlist's header names what it draws
        // on. A selection with no entry keeps them all, for messages to name.
        if !out.entries.is_empty() {
            let kept: BTreeSet<Sym> = out.entries.iter().map(|e| e.provider).collect();
            out.sources.retain(|s| {
                out.strings
                    .lookup(&s.provider)
                    .is_some_and(|sym| kept.contains(&sym))
            });
        }
        out
    }

    /// The exact set of addresses this filter selects: the kept entries' addresses minus
    /// every address of an excluded service.
    pub fn select_set(&self, ranges: &Ranges) -> crate::PrefixSet {
        if self.is_everything() {
            return ranges.to_set();
        }
        self.select(ranges).to_set()
    }

    fn excluded_set(&self, ranges: &Ranges) -> Option<crate::PrefixSet> {
        if self.exclude_services.is_empty() {
            return None;
        }
        let set = ranges
            .entries
            .iter()
            .filter(|e| {
                let t = ranges.tags(e);
                self.names_provider(t.provider)
                    && self
                        .exclude_services
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(t.service))
            })
            .map(|e| e.prefix)
            .collect();
        Some(set)
    }

    /// Checks that every provider, service, region and extra value named by the filter
    /// appears in `ranges` (services, regions and extras among the named providers'
    /// entries), so a typo does not silently select nothing.
    ///
    /// # Errors
    /// [`Error::UnknownName`] naming the unknown value and the known ones.
    pub fn check(&self, ranges: &Ranges) -> Result<(), Error> {
        // No name to check (a family alone names none).
        if self.providers.is_empty()
            && self.services.is_empty()
            && self.exclude_services.is_empty()
            && self.regions.is_empty()
            && self.extras.is_empty()
        {
            return Ok(());
        }
        // Mark which symbols each field uses (cheaper than collecting strings).
        let n = ranges.strings.as_slice().len();
        let (mut pv, mut sv, mut rg, mut bg) = (
            alloc::vec![false; n],
            alloc::vec![false; n],
            alloc::vec![false; n],
            alloc::vec![false; n],
        );
        // Whether the provider terms name each provider symbol, decided once.
        let mut named: Vec<Option<bool>> = alloc::vec![None; n];
        for e in &ranges.entries {
            if let Some(m) = pv.get_mut(e.provider as usize) {
                *m = true;
            }
            let names = match named.get_mut(e.provider as usize) {
                Some(Some(b)) => *b,
                Some(slot) => *slot.insert(self.names_provider(ranges.strings.get(e.provider))),
                None => self.names_provider(ranges.strings.get(e.provider)),
            };
            if !names {
                continue;
            }
            for (marks, sym) in [
                (&mut sv, e.service),
                (&mut rg, e.region),
                (&mut bg, e.extra),
            ] {
                if let Some(m) = marks.get_mut(sym as usize) {
                    *m = true;
                }
            }
        }
        let names = |marks: &[bool]| -> BTreeSet<&str> {
            ranges
                .strings
                .as_slice()
                .iter()
                .zip(marks)
                .filter(|(_, m)| **m)
                .map(|(s, _)| s.as_str())
                .collect()
        };
        let (providers, services, regions, groups) =
            (names(&pv), names(&sv), names(&rg), names(&bg));
        let provider_names: Vec<String> = self
            .provider_terms()
            .map(|(p, _)| String::from(p))
            .collect();
        let scoped: Vec<String> = self
            .provider_terms()
            .filter_map(|(_, s)| s.map(String::from))
            .collect();
        let lists: [(&str, &[String], &BTreeSet<&str>); 6] = [
            ("provider", &provider_names, &providers),
            ("service", &scoped, &services),
            ("service", &self.services, &services),
            ("service", &self.exclude_services, &services),
            ("region", &self.regions, &regions),
            ("border group", &self.extras, &groups),
        ];
        for (what, wanted, known) in lists {
            for w in wanted {
                if !known.iter().any(|k| k.eq_ignore_ascii_case(w)) {
                    let known: Vec<&str> =
                        known.iter().copied().filter(|k| !k.is_empty()).collect();
                    let known = if known.is_empty() {
                        // Cloudflare's and Fastly's lists name no services either.
                        let scope = if what == "provider" || provider_names.is_empty() {
                            String::from("the input has")
                        } else {
                            format!("the lists of {} have", provider_names.join(", "))
                        };
                        format!("{scope} no {what} names at all (plain CIDR lists and some providers' lists carry none): leave the filter out, or use a source that names them")
                    } else if known.len() > 40 {
                        format!(
                            "the input has none; known: {} ... ({} in all; `ipfence services` lists them)",
                            known.get(..40).unwrap_or_default().join(", "),
                            known.len()
                        )
                    } else {
                        format!("the input has none; known: {}", known.join(", "))
                    };
                    return Err(Error::UnknownName {
                        what,
                        name: crate::error::quote(w),
                        known,
                    });
                }
                if what != "provider" && self.providers.is_empty() {
                    self.check_one_provider(ranges, what, w)?;
                }
            }
        }
        self.check_each_provider_contributes(ranges)
    }

    /// The `--provider` terms: (provider, the one service it is scoped to).
    fn provider_terms(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.providers.iter().map(|p| match p.split_once(':') {
            Some((name, service)) => (name, Some(service)),
            None => (p.as_str(), None),
        })
    }

    /// Whether the provider terms name `provider` (any service).
    fn names_provider(&self, provider: &str) -> bool {
        self.providers.is_empty()
            || self
                .provider_terms()
                .any(|(p, _)| p.eq_ignore_ascii_case(provider))
    }

    /// Whether the provider terms keep an entry of `provider` and `service`.
    fn keeps_provider(&self, provider: &str, service: &str) -> bool {
        self.providers.is_empty()
            || self.provider_terms().any(|(p, s)| {
                p.eq_ignore_ascii_case(provider)
                    && s.is_none_or(|s| s.eq_ignore_ascii_case(service))
            })
    }

    /// Refuses a provider term that keeps nothing with the other names: `--provider
    /// cloudflare,github --service hooks` would drop every Cloudflare entry (they have no
    /// service), a narrower allowlist than the user named.
    fn check_each_provider_contributes(&self, ranges: &Ranges) -> Result<(), Error> {
        for (name, service) in self.provider_terms() {
            let found = ranges.entries.iter().any(|e| {
                let t = ranges.tags(e);
                t.provider.eq_ignore_ascii_case(name)
                    && service.is_none_or(|s| s.eq_ignore_ascii_case(t.service))
                    && any_eq(&self.services, t.service)
                    && any_eq(&self.regions, t.region)
                    && any_eq(&self.extras, t.extra)
            });
            if !found {
                return Err(Error::Invalid(format!(
                    "--provider {}: none of its entries has the other names asked for ({self}): each provider must add something; scope a service to one provider instead, as in --provider github:hooks,cloudflare",
                    crate::error::quote(&format!("{name}{}", service.map(|s| format!(":{s}")).unwrap_or_default()))
                )));
            }
        }
        Ok(())
    }
}

impl Filter {
    /// Refuses a service, region or extra name that more than one provider publishes when
    /// no provider is named: `--region global` would otherwise take AWS's `GLOBAL` and
    /// Atlassian's `global` at once, a wider allowlist than either.
    fn check_one_provider(&self, ranges: &Ranges, what: &str, name: &str) -> Result<(), Error> {
        // Among the entries the other fields keep: `--service S3 --region eu-west-1`
        // names AWS's eu-west-1 even though Atlassian has one too.
        let mut providers: BTreeSet<&str> = BTreeSet::new();
        for e in &ranges.entries {
            let t = ranges.tags(e);
            let (value, others) = match what {
                "service" => (
                    t.service,
                    [(&self.regions, t.region), (&self.extras, t.extra)],
                ),
                "region" => (
                    t.region,
                    [(&self.services, t.service), (&self.extras, t.extra)],
                ),
                _ => (
                    t.extra,
                    [(&self.services, t.service), (&self.regions, t.region)],
                ),
            };
            if value.eq_ignore_ascii_case(name) && others.iter().all(|(l, v)| any_eq(l, v)) {
                providers.insert(t.provider);
            }
        }
        if providers.len() < 2 {
            return Ok(());
        }
        let list: Vec<&str> = providers.into_iter().collect();
        Err(Error::Invalid(format!(
            "{what} {} is published by {}: say which with --provider (e.g. --provider {}), or name them all (--provider {})",
            crate::error::quote(name),
            list.join(" and "),
            list.first().copied().unwrap_or_default(),
            list.join(",")
        )))
    }
}

/// The filter in words, for headers and messages: `provider=aws service=API_GATEWAY
/// family=ipv4`, or `everything`.
impl core::fmt::Display for Filter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        let mut part = |f: &mut core::fmt::Formatter<'_>, key: &str, vals: &[String]| {
            if vals.is_empty() {
                return Ok(());
            }
            let sep = if first { "" } else { " " };
            first = false;
            write!(f, "{sep}{key}={}", vals.join(","))
        };
        part(f, "provider", &self.providers)?;
        part(f, "service", &self.services)?;
        part(f, "exclude-service", &self.exclude_services)?;
        part(f, "region", &self.regions)?;
        part(f, "border-group", &self.extras)?;
        match self.family {
            Some(Family::V4) => part(f, "family", &[String::from("ipv4")])?,
            Some(Family::V6) => part(f, "family", &[String::from("ipv6")])?,
            None => {}
        }
        if first {
            f.write_str("everything")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tags;

    fn ranges() -> Ranges {
        let mut r = Ranges::new();
        let t = |service, region| Tags {
            provider: "aws",
            service,
            region,
            extra: region,
        };
        r.push(
            "3.5.140.0/22".parse().unwrap(),
            t("AMAZON", "ap-northeast-2"),
        );
        r.push("3.5.140.0/24".parse().unwrap(), t("EC2", "ap-northeast-2"));
        r.push("52.94.0.0/22".parse().unwrap(), t("AMAZON", "us-east-1"));
        r.push("2600:1f14::/35".parse().unwrap(), t("EC2", "us-west-2"));
        r
    }

    #[test]
    fn selects_by_service_region_family() {
        let r = ranges();
        assert_eq!(Filter::default().services(["amazon"]).select(&r).len(), 2);
        assert_eq!(Filter::default().regions(["us-west-2"]).select(&r).len(), 1);
        assert_eq!(Filter::default().family(Family::V4).select(&r).len(), 3);
        assert_eq!(Filter::default().select(&r).len(), 4);
    }

    #[test]
    fn amazon_minus_ec2_is_a_set_difference() {
        let r = ranges();
        let f = Filter::default()
            .services(["AMAZON"])
            .exclude_services(["EC2"]);
        let got: Vec<String> = f.select_set(&r).cidrs().map(|n| n.to_string()).collect();
        assert_eq!(got, ["3.5.141.0/24", "3.5.142.0/23", "52.94.0.0/22"]);
    }

    #[test]
    fn a_name_of_two_providers_needs_a_provider() {
        let mut r = ranges();
        r.push(
            "104.192.136.0/21".parse().unwrap(),
            Tags {
                provider: "atlassian",
                service: "jira",
                region: "US-EAST-1",
                extra: "egress",
            },
        );
        let e = Filter::default()
            .regions(["us-east-1"])
            .check(&r)
            .unwrap_err()
            .to_string();
        assert!(e.contains("published by atlassian and aws"), "{e}");
        assert!(e.contains("--provider atlassian,aws"), "{e}");
        let f = Filter::default().regions(["us-east-1"]).providers(["aws"]);
        f.check(&r).unwrap();
        assert_eq!(f.select(&r).len(), 1);
        let both = Filter::default()
            .regions(["us-east-1"])
            .providers(["aws", "atlassian"]);
        both.check(&r).unwrap();
        assert_eq!(both.select(&r).len(), 2);
        // A name one provider has is enough on its own, and so are names that together
        // point at one provider.
        Filter::default().services(["jira"]).check(&r).unwrap();
        Filter::default()
            .services(["EC2"])
            .regions(["us-west-2"])
            .check(&r)
            .unwrap();
        Filter::default()
            .services(["AMAZON"])
            .regions(["us-east-1"])
            .check(&r)
            .unwrap();
        let e = Filter::default()
            .providers(["azure"])
            .check(&r)
            .unwrap_err();
        assert!(e.to_string().contains("known: atlassian, aws"), "{e}");
        assert_eq!(
            Filter::default()
                .providers(["aws"])
                .services(["S3"])
                .family(Family::V4)
                .to_string(),
            "provider=aws service=S3 family=ipv4"
        );
        assert_eq!(Filter::default().to_string(), "everything");
    }

    #[test]
    fn a_provider_term_scopes_a_service_and_must_add_something() {
        let mut r = ranges();
        let t = |provider, service| Tags {
            provider,
            service,
            region: "",
            extra: "",
        };
        r.push("104.16.0.0/13".parse().unwrap(), t("cloudflare", ""));
        r.push("140.82.112.0/20".parse().unwrap(), t("github", "hooks"));
        r.push("185.199.108.0/22".parse().unwrap(), t("github", "pages"));
        let f = Filter::default().providers(["cloudflare", "github:hooks"]);
        f.check(&r).unwrap();
        let got: Vec<String> = f.select_set(&r).cidrs().map(|n| n.to_string()).collect();
        assert_eq!(got, ["104.16.0.0/13", "140.82.112.0/20"]);
        // A global --service would drop all of Cloudflare: refused, not narrowed.
        let e = Filter::default()
            .providers(["cloudflare", "github"])
            .services(["hooks"])
            .check(&r)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--provider \"cloudflare\": none of its entries"),
            "{e}"
        );
        assert!(e.contains("--provider github:hooks,cloudflare"), "{e}");
        // A scoped service the provider does not publish is an unknown name.
        let e = Filter::default()
            .providers(["github:hookz"])
            .check(&r)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown service \"hookz\""), "{e}");
    }

    #[test]
    fn unknown_names_are_errors() {
        let e = Filter::default()
            .services(["API_GATEWAI"])
            .check(&ranges())
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("unknown service \"API_GATEWAI\""), "{msg}");
        assert!(msg.contains("AMAZON, EC2"), "{msg}");
        // A CIDR list names no service: say so instead of listing nothing.
        let mut bare = Ranges::new();
        bare.push(
            "10.0.0.0/8".parse().unwrap(),
            Tags {
                provider: "text",
                service: "",
                region: "",
                extra: "",
            },
        );
        let msg = Filter::default()
            .regions(["eu-west-1"])
            .check(&bare)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("unknown region \"eu-west-1\": the input has no region names at all"),
            "{msg}"
        );
    }
}
