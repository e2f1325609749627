//! Crawler verification: does a client's address match the crawler its user agent
//! claims?
//!
//! Anyone can send `User-Agent: Googlebot`. Search engines and AI operators publish the
//! addresses their crawlers use, each crawler from its own list(s); [`CRAWLERS`] says which
//! user-agent token claims which crawler and which lists its requests must come from, as
//! each operator documents it:
//!
//! ```text
//! operator  tokens                                                   lists
//! Google    Googlebot, Googlebot-Image, -News, -Video, Storebot-Google,  googlebot.json
//!           Google-InspectionTool, GoogleOther, GoogleOther-Image,
//!           GoogleOther-Video, Google-CloudVertexBot
//! Google    APIs-Google, AdsBot-Google, AdsBot-Google-Mobile,          special-crawlers.json
//!           Mediapartners-Google, Google-Safety
//! Google    FeedFetcher-Google, GoogleProducer, Google-Read-Aloud,     user-triggered-fetchers.json,
//!           Google-Site-Verification, Google-CWS, Google-NotebookLM,   user-triggered-fetchers-google.json,
//!           Google-Pinpoint, Google-GeminiNotebook                     user-triggered-agents.json
//! Microsoft bingbot                                                  bingbot.json
//! OpenAI    GPTBot / ChatGPT-User / OAI-SearchBot                     gptbot.json / chatgpt-user.json / searchbot.json
//! Apple     Applebot                                                 applebot.json
//! Perplexity PerplexityBot                                           perplexitybot.json
//! DuckDuckGo DuckDuckBot                                             (a list of addresses on a help page)
//! ```
//!
//! `Google-Extended` and `Applebot-Extended` are robots.txt tokens only: no request ever
//! carries them, so they claim nothing here.
//!
//! A token matches as a whole word, in any ASCII case: the user agent is split into words
//! of letters, digits, `-`, `_` and `.` ([`is_word_byte`]), and a word equal to a token
//! (ignoring case) claims its crawler. So `Googlebot/2.1` and `(compatible; googlebot)`
//! claim Googlebot, while `Googlebot-Image/1.0` claims Googlebot-Image only and
//! `NotGooglebot` or `bingbot.htm` (in a URL) claim nothing.
//!
//! The verdict ([`Verdict`]) never guesses: an address is *genuine* when a loaded list of
//! the claimed crawler contains it, *fake* only when every list of that crawler is loaded
//! and none contains it, and *unverifiable* otherwise (some list is not loaded: the
//! embedded data has Google's three crawler lists only). Sources: Google
//! <https://developers.google.com/crawling/docs/crawlers-fetchers/overview-google-crawlers>,
//! Bing <https://www.bing.com/webmasters/help/how-to-verify-bingbot-3905dc26>, OpenAI
//! <https://platform.openai.com/docs/bots>.
//!
//! ```
//! use ipfence_core::crawler::{self, Loaded, Verdict};
//! use ipfence_core::{Matcher, Ranges, Tags};
//! let mut r = Ranges::new();
//! let t = Tags { provider: "google", service: "googlebot", region: "", extra: "" };
//! r.push("66.249.64.0/27".parse()?, t);
//! let m = Matcher::build(&r)?;
//! let loaded = Loaded::of_ranges(&r);
//! let ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
//! let v = crawler::verify(&m, loaded, ua, "66.249.64.3".parse()?);
//! assert_eq!(v.kind(), "genuine");
//! assert_eq!(crawler::verify(&m, loaded, ua, "192.0.2.1".parse()?).kind(), "fake");
//! assert_eq!(crawler::verify(&m, loaded, "GPTBot/1.1", "192.0.2.1".parse()?).kind(), "unverifiable");
//! assert!(matches!(crawler::verify(&m, loaded, "curl/8.5.0", "192.0.2.1".parse()?), Verdict::NoClaim));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::net::IpAddr;

use ipnet::IpNet;

use crate::matcher::{Match, Matcher};
use crate::Ranges;

/// A published list of crawler addresses: the entries ipfence reads from it carry
/// `provider` and, for a list ipfence knows by name, `service` (the name given with
/// `--input NAME=FILE`, see [`crate::source::KNOWN_LABELS`]).
#[derive(Debug, PartialEq, Eq)]
pub struct List {
    /// Its position in [`LISTS`] (the bit in [`Loaded`]).
    pub index: u8,
    /// The file as its publisher names it (`googlebot.json`).
    pub file: &'static str,
    /// Where it is published.
    pub url: &'static str,
    /// The provider its entries carry (`google`, `bing`, `openai`, or the list's own name).
    pub provider: &'static str,
    /// The service its entries carry; `None`: any entry of the provider (a list named
    /// after its crawler, such as `--input applebot=FILE`, in any layout).
    pub service: Option<&'static str>,
}

impl List {
    /// Whether an entry with these tags comes from this list.
    #[inline]
    fn holds(&self, provider: &str, service: &str) -> bool {
        provider == self.provider && self.service.is_none_or(|s| s == service)
    }
}

/// A crawler: the user-agent token that claims it and the lists it must come from.
#[derive(Debug, PartialEq, Eq)]
pub struct Crawler {
    /// The token, as its operator writes it (`Googlebot-Image`).
    pub token: &'static str,
    /// Who runs it (`Google`).
    pub operator: &'static str,
    /// Every list its requests may come from (a genuine request is in one of them).
    pub lists: &'static [&'static List],
}

macro_rules! list {
    ($index:expr, $file:expr, $url:expr, $provider:expr, $service:expr) => {
        List {
            index: $index,
            file: $file,
            url: $url,
            provider: $provider,
            service: $service,
        }
    };
}

/// Google's common crawlers (Googlebot and the others that obey robots.txt).
pub static GOOGLEBOT: List = list!(
    0,
    "googlebot.json",
    "https://developers.google.com/static/search/apis/ipranges/googlebot.json",
    "google",
    Some("googlebot")
);
/// Google's special-case crawlers (AdsBot, APIs-Google, ...).
pub static SPECIAL_CRAWLERS: List = list!(
    1,
    "special-crawlers.json",
    "https://developers.google.com/static/search/apis/ipranges/special-crawlers.json",
    "google",
    Some("special-crawlers")
);
/// Google's user-triggered fetchers, user-owned addresses.
pub static USER_TRIGGERED_FETCHERS: List = list!(
    2,
    "user-triggered-fetchers.json",
    "https://developers.google.com/static/search/apis/ipranges/user-triggered-fetchers.json",
    "google",
    Some("user-triggered-fetchers")
);
/// Google's user-triggered fetchers, Google-owned addresses.
pub static USER_TRIGGERED_FETCHERS_GOOGLE: List = list!(
    3,
    "user-triggered-fetchers-google.json",
    "https://developers.google.com/static/crawling/ipranges/user-triggered-fetchers-google.json",
    "google",
    Some("user-triggered-fetchers-google")
);
/// Google's user-triggered agents.
pub static USER_TRIGGERED_AGENTS: List = list!(
    4,
    "user-triggered-agents.json",
    "https://developers.google.com/static/crawling/ipranges/user-triggered-agents.json",
    "google",
    Some("user-triggered-agents")
);
/// Bing's crawler.
pub static BINGBOT: List = list!(
    5,
    "bingbot.json",
    "https://www.bing.com/toolbox/bingbot.json",
    "bing",
    Some("bingbot")
);
/// OpenAI's training crawler.
pub static GPTBOT: List = list!(
    6,
    "gptbot.json",
    "https://openai.com/gptbot.json",
    "openai",
    Some("gptbot")
);
/// OpenAI's fetcher for ChatGPT users' actions.
pub static CHATGPT_USER: List = list!(
    7,
    "chatgpt-user.json",
    "https://openai.com/chatgpt-user.json",
    "openai",
    Some("chatgpt-user")
);
/// OpenAI's search crawler.
pub static SEARCHBOT: List = list!(
    8,
    "searchbot.json",
    "https://openai.com/searchbot.json",
    "openai",
    Some("oai-searchbot")
);
/// Apple's crawler: loaded as `--input applebot=FILE`.
pub static APPLEBOT: List = list!(
    9,
    "applebot.json",
    "https://search.developer.apple.com/applebot.json",
    "applebot",
    None
);
/// Perplexity's crawler: loaded as `--input perplexitybot=FILE`.
pub static PERPLEXITYBOT: List = list!(
    10,
    "perplexitybot.json",
    "https://www.perplexity.com/perplexitybot.json",
    "perplexitybot",
    None
);
/// DuckDuckGo's crawler: its addresses are a list on a help page; loaded as
/// `--input duckduckbot=FILE` (one address or prefix per line).
pub static DUCKDUCKBOT: List = list!(
    11,
    "duckduckbot list",
    "https://duckduckgo.com/duckduckgo-help-pages/results/duckduckbot",
    "duckduckbot",
    None
);

/// Every list, by [`List::index`].
pub static LISTS: [&List; 12] = [
    &GOOGLEBOT,
    &SPECIAL_CRAWLERS,
    &USER_TRIGGERED_FETCHERS,
    &USER_TRIGGERED_FETCHERS_GOOGLE,
    &USER_TRIGGERED_AGENTS,
    &BINGBOT,
    &GPTBOT,
    &CHATGPT_USER,
    &SEARCHBOT,
    &APPLEBOT,
    &PERPLEXITYBOT,
    &DUCKDUCKBOT,
];

const COMMON: &[&List] = &[&GOOGLEBOT];
const SPECIAL: &[&List] = &[&SPECIAL_CRAWLERS];
const FETCHERS: &[&List] = &[
    &USER_TRIGGERED_FETCHERS,
    &USER_TRIGGERED_FETCHERS_GOOGLE,
    &USER_TRIGGERED_AGENTS,
];

macro_rules! crawler {
    ($token:expr, $operator:expr, $lists:expr) => {
        Crawler {
            token: $token,
            operator: $operator,
            lists: $lists,
        }
    };
}

/// Every known crawler, from its operator's documentation (module docs).
pub static CRAWLERS: &[Crawler] = &[
    // https://developers.google.com/crawling/docs/crawlers-fetchers/google-common-crawlers
    crawler!("Googlebot", "Google", COMMON),
    crawler!("Googlebot-Image", "Google", COMMON),
    crawler!("Googlebot-News", "Google", COMMON),
    crawler!("Googlebot-Video", "Google", COMMON),
    crawler!("Storebot-Google", "Google", COMMON),
    crawler!("Google-InspectionTool", "Google", COMMON),
    crawler!("GoogleOther", "Google", COMMON),
    crawler!("GoogleOther-Image", "Google", COMMON),
    crawler!("GoogleOther-Video", "Google", COMMON),
    crawler!("Google-CloudVertexBot", "Google", COMMON),
    // https://developers.google.com/crawling/docs/crawlers-fetchers/google-special-case-crawlers
    crawler!("APIs-Google", "Google", SPECIAL),
    crawler!("AdsBot-Google", "Google", SPECIAL),
    crawler!("AdsBot-Google-Mobile", "Google", SPECIAL),
    crawler!("Mediapartners-Google", "Google", SPECIAL),
    crawler!("Google-Safety", "Google", SPECIAL),
    // https://developers.google.com/crawling/docs/crawlers-fetchers/google-user-triggered-fetchers
    crawler!("FeedFetcher-Google", "Google", FETCHERS),
    crawler!("GoogleProducer", "Google", FETCHERS),
    crawler!("Google-Read-Aloud", "Google", FETCHERS),
    crawler!("Google-Site-Verification", "Google", FETCHERS),
    crawler!("Google-CWS", "Google", FETCHERS),
    crawler!("Google-NotebookLM", "Google", FETCHERS),
    crawler!("Google-Pinpoint", "Google", FETCHERS),
    crawler!("Google-GeminiNotebook", "Google", FETCHERS),
    // https://www.bing.com/webmasters/help/which-crawlers-does-bing-use-8c184ec0
    crawler!("bingbot", "Microsoft", &[&BINGBOT]),
    // https://platform.openai.com/docs/bots
    crawler!("GPTBot", "OpenAI", &[&GPTBOT]),
    crawler!("ChatGPT-User", "OpenAI", &[&CHATGPT_USER]),
    crawler!("OAI-SearchBot", "OpenAI", &[&SEARCHBOT]),
    // https://support.apple.com/en-us/119829
    crawler!("Applebot", "Apple", &[&APPLEBOT]),
    // https://docs.perplexity.ai/guides/bots
    crawler!("PerplexityBot", "Perplexity", &[&PERPLEXITYBOT]),
    // https://duckduckgo.com/duckduckgo-help-pages/results/duckduckbot
    crawler!("DuckDuckBot", "DuckDuckGo", &[&DUCKDUCKBOT]),
];

/// The shortest token (`GPTBot`). A token is a whole word, so sampling every
/// `MIN_TOKEN`-th byte of a user agent hits the first `MIN_TOKEN` bytes of each token in
/// it: the scan reads a word only where its sample could be part of a token.
const MIN_TOKEN: usize = 6;

/// Where two adjacent bytes can stand in the first [`MIN_TOKEN`] bytes of a token: bit
/// `j` of `PAIRS[pair_index(x, y)]` is set when some token has `x` at `j` and `y` at
/// `j + 1` (for `j = MIN_TOKEN - 1`, any `y` after a token of `MIN_TOKEN` bytes). One
/// load tells a sample's offsets from the bytes around it (see [`next_token`]).
static PAIRS: [u8; 1024] = pairs();

/// The tokens by first letter: for letter `c` (0 for `a`, either case), the indexes in
/// [`CRAWLERS`] of the tokens it starts are `BY_LETTER.0[from..to]`, where `from` and
/// `to` are `BY_LETTER.1[c]` and `BY_LETTER.1[c + 1]`, in table order.
static BY_LETTER: ([u8; 32], [u8; 27]) = by_letter();

// Evaluated at compile time: an index out of bounds or a failed assertion fails the
// build, not a request.
#[allow(clippy::indexing_slicing)]
const fn pairs() -> [u8; 1024] {
    let mut t = [0u8; 1024];
    let mut i = 0;
    while i < CRAWLERS.len() {
        let tok = CRAWLERS[i].token.as_bytes();
        // The sampling's premise.
        assert!(tok.len() >= MIN_TOKEN);
        let mut j = 0;
        while j < MIN_TOKEN {
            if j + 1 < tok.len() {
                t[pair_index(tok[j], tok[j + 1])] |= 1 << j;
            } else {
                let mut y = 0;
                while y < 32 {
                    t[pair_index(tok[j], y)] |= 1 << j;
                    y += 1;
                }
            }
            j += 1;
        }
        i += 1;
    }
    t
}

// Evaluated at compile time, as `pairs`.
#[allow(clippy::indexing_slicing)]
const fn by_letter() -> ([u8; 32], [u8; 27]) {
    let mut order = [0u8; 32];
    let mut start = [0u8; 27];
    let mut n = 0;
    let mut c = 0;
    while c < 26 {
        start[c] = n as u8;
        let mut k = 0;
        while k < CRAWLERS.len() {
            if CRAWLERS[k].token.as_bytes()[0].to_ascii_lowercase() == b'a' + c as u8 {
                order[n] = k as u8;
                n += 1;
            }
            k += 1;
        }
        c += 1;
    }
    // Every token starts with a letter.
    assert!(n == CRAWLERS.len());
    start[26] = n as u8;
    (order, start)
}

/// The index of two bytes in [`PAIRS`]: their low five bits, which ASCII case does not
/// change. Other bytes that share them (digits, punctuation) only make the scan look
/// closer than it needs to.
#[inline(always)]
const fn pair_index(x: u8, y: u8) -> usize {
    ((x & 31) as usize) << 5 | (y & 31) as usize
}

/// The offsets in a token (bits, see [`PAIRS`]) at which `x` and then `y` can stand.
#[inline(always)]
fn pair(x: u8, y: u8) -> u8 {
    // Always in bounds; all offsets otherwise, so a logic error costs time, not tokens.
    PAIRS.get(pair_index(x, y)).copied().unwrap_or(u8::MAX)
}

/// Whether byte `b` of a user agent belongs to a word (see the module docs): an ASCII
/// letter or digit, `-`, `_` or `.`; any other byte separates words.
#[inline(always)]
pub const fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// The next token of the `len` bytes that `byte` gives (`byte(i)` is byte `i` of the
/// user agent): its index in [`CRAWLERS`]. `*pos` is the next byte to sample
/// (`MIN_TOKEN - 1` at first) and moves on.
///
/// Every [`MIN_TOKEN`]-th byte is sampled: [`PAIRS`] gives, from the bytes before and
/// after it, the offsets at which it could stand in a token (a word starting at most
/// `MIN_TOKEN - 1` bytes before it). Most samples have none, so most bytes are never
/// read; for the rest, [`token_near`] looks closer.
#[inline(always)]
fn next_token(len: usize, byte: &impl Fn(usize) -> u8, pos: &mut usize) -> Option<usize> {
    let mut p = *pos;
    while p < len {
        let b = byte(p);
        // A byte past the end is a separator; 0 stands for it (any byte would do: the
        // offsets it allows are checked again on the word itself).
        let c = if p + 1 < len { byte(p + 1) } else { 0 };
        // Most samples allow no offset with the byte after them; only the others read
        // the byte before. `p >= MIN_TOKEN - 1`, so `p - 1` is a byte; offset 0 has no
        // byte of the token before it.
        let mut offsets = pair(b, c);
        if offsets != 0 {
            offsets &= (pair(byte(p - 1), b) << 1) | 1;
        }
        if offsets == 0 {
            p += MIN_TOKEN;
            continue;
        }
        let (k, next) = token_near(p, offsets, len, byte);
        p = next;
        if k.is_some() {
            *pos = p;
            return k;
        }
    }
    *pos = p;
    None
}

/// Whether the [`MIN_TOKEN`] bytes from `s` pair up as the first bytes of some token do
/// (cheaper than comparing them with the tokens).
#[inline(always)]
fn pairs_up(s: usize, byte: &impl Fn(usize) -> u8) -> bool {
    let mut x = byte(s);
    for i in 0..MIN_TOKEN - 1 {
        let y = byte(s + i + 1);
        if pair(x, y) & (1 << i) == 0 {
            return false;
        }
        x = y;
    }
    true
}

/// The rare part of [`next_token`]: the token, if any, starting `j` bytes before `p`
/// for an offset `j` in `offsets`, and the next byte to sample.
#[inline(never)]
fn token_near(
    p: usize,
    mut offsets: u8,
    len: usize,
    byte: &impl Fn(usize) -> u8,
) -> (Option<usize>, usize) {
    while offsets != 0 {
        let j = offsets.trailing_zeros() as usize;
        offsets &= offsets - 1;
        let Some(s) = p.checked_sub(j) else {
            continue;
        };
        // A word starts at `s`, and its first bytes pair up as some token's do.
        if s + MIN_TOKEN > len || (s > 0 && is_word_byte(byte(s - 1))) || !pairs_up(s, byte) {
            continue;
        }
        // A token starting further back would hold the separator before `s`: none of
        // the other offsets can give one.
        return match token_from(s, len, byte) {
            // The next token starts after the separator that ends this one.
            Some((k, n)) => (Some(k), s + n + MIN_TOKEN),
            None => break,
        };
    }
    (None, p + MIN_TOKEN)
}

/// The token that is the word starting at `s`, ignoring ASCII case, and its length: the
/// tokens with the word's first letter are compared with it.
#[inline(never)]
fn token_from(s: usize, len: usize, byte: &impl Fn(usize) -> u8) -> Option<(usize, usize)> {
    let c = usize::from(byte(s).to_ascii_lowercase().wrapping_sub(b'a'));
    let (order, start) = &BY_LETTER;
    let tokens = order.get(usize::from(*start.get(c)?)..usize::from(*start.get(c + 1)?))?;
    tokens.iter().find_map(|&k| {
        let t = CRAWLERS.get(usize::from(k))?.token.as_bytes();
        let end = s + t.len();
        let whole = end == len || (end < len && !is_word_byte(byte(end)));
        (whole
            && t.iter()
                .enumerate()
                .all(|(i, b)| byte(s + i).eq_ignore_ascii_case(b)))
        .then_some((usize::from(k), t.len()))
    })
}

/// The crawlers a user agent claims, in the order their tokens appear (see the module
/// docs for how a token matches).
pub fn claims(user_agent: &str) -> Claims<'_> {
    Claims {
        ua: user_agent.as_bytes(),
        pos: MIN_TOKEN - 1,
    }
}

/// The first crawler a user agent claims.
pub fn claim(user_agent: &str) -> Option<&'static Crawler> {
    claims(user_agent).next()
}

/// The iterator of [`claims`].
#[derive(Debug, Clone)]
pub struct Claims<'a> {
    ua: &'a [u8],
    pos: usize,
}

impl Iterator for Claims<'_> {
    type Item = &'static Crawler;
    fn next(&mut self) -> Option<&'static Crawler> {
        let ua = self.ua;
        let k = next_token(
            ua.len(),
            &|i| ua.get(i).copied().unwrap_or(0),
            &mut self.pos,
        )?;
        CRAWLERS.get(k)
    }
}

/// A set of crawlers (a bit per index in [`CRAWLERS`]): what a user agent claims, in a
/// form that edge code can cache per user agent and pass around as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClaimSet(pub u32);

// Every crawler has a bit.
const _: () = assert!(CRAWLERS.len() <= 32);

impl ClaimSet {
    /// Every crawler `user_agent` claims.
    pub fn of(user_agent: &str) -> ClaimSet {
        Self::of_bytes(user_agent.as_bytes())
    }

    /// [`ClaimSet::of`] for a header as received, in any encoding: tokens are ASCII, and
    /// other bytes only separate words.
    pub fn of_bytes(user_agent: &[u8]) -> ClaimSet {
        Self::scan(user_agent.len(), |i| {
            user_agent.get(i).copied().unwrap_or(0)
        })
    }

    /// [`ClaimSet::of_bytes`] for `len` bytes that `byte(i)` gives (`0 <= i < len`), for
    /// a user agent kept where a slice cannot borrow it (the wasm package reads it in
    /// place from a buffer JS writes). Inlined, so that `byte` costs no call.
    #[inline(always)]
    pub fn scan(len: usize, byte: impl Fn(usize) -> u8) -> ClaimSet {
        let mut bits = 0u32;
        let mut pos = MIN_TOKEN - 1;
        while let Some(k) = next_token(len, &byte, &mut pos) {
            bits |= 1 << k;
        }
        ClaimSet(bits)
    }

    /// Whether it claims nothing.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The crawlers, in table order.
    pub fn iter(self) -> impl Iterator<Item = &'static Crawler> {
        // Bit by bit: a user agent claims one or two crawlers of the table's thirty.
        let mut bits = self.0;
        core::iter::from_fn(move || {
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(c) = CRAWLERS.get(i) {
                    return Some(c);
                }
            }
            None
        })
    }
}

/// Which lists the data holds (a bit per [`List::index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loaded(u32);

impl Loaded {
    /// Every list loaded (tests and data known to be complete).
    pub const ALL: Loaded = Loaded((1 << LISTS.len()) - 1);

    /// The lists whose entries are in `ranges`.
    pub fn of_ranges(ranges: &Ranges) -> Loaded {
        Self::of_tags(ranges.entries.iter().map(|e| {
            let t = ranges.tags(e);
            (t.provider, t.service)
        }))
    }

    /// The lists whose entries are in a compiled matcher (one pass over its prefixes).
    pub fn of_matcher<B: AsRef<[u8]>>(m: &Matcher<B>) -> Loaded {
        let mut l = Loaded::default();
        for i in 0..m.prefix_count() {
            if let Some(p) = m.prefix_at(i) {
                l.0 |= Self::of_tags(p.entries().map(|t| (t.provider, t.service))).0;
            }
        }
        l
    }

    fn of_tags<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Loaded {
        let mut bits = 0u32;
        let mut last = ("\u{0}", "");
        for (p, s) in tags {
            // Runs of entries share tags: compare each new pair only.
            if (p, s) == last {
                continue;
            }
            last = (p, s);
            for l in LISTS {
                if l.holds(p, s) {
                    bits |= 1 << l.index;
                }
            }
        }
        Loaded(bits)
    }

    /// Whether `list` is loaded.
    pub fn has(self, list: &List) -> bool {
        self.0 & (1 << list.index) != 0
    }
}

/// What the address of a request says about the crawler its user agent claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The user agent claims no known crawler.
    NoClaim,
    /// The address is in a list of the claimed crawler: `prefix`, the longest published
    /// prefix of `list` containing it.
    Genuine {
        /// The claimed crawler.
        crawler: &'static Crawler,
        /// The list that holds the address.
        list: &'static List,
        /// The published prefix that holds it.
        prefix: IpNet,
        /// That prefix's [`Match::index`] in the matcher (to keep per-prefix answers).
        prefix_index: usize,
    },
    /// Every list of the claimed crawler is loaded and none holds the address.
    Fake {
        /// The claimed crawler.
        crawler: &'static Crawler,
    },
    /// No loaded list of the claimed crawler holds the address, and some of its lists
    /// are not loaded: ipfence cannot tell.
    Unverifiable {
        /// The claimed crawler.
        crawler: &'static Crawler,
        /// The lists that were loaded.
        loaded: Loaded,
    },
}

impl Crawler {
    /// Its position in [`CRAWLERS`].
    pub fn index(&'static self) -> usize {
        // Its address says where it is, if it is in the table (a search by address
        // compiled to 500 bytes of wasm).
        let at = (self as *const Crawler as usize).wrapping_sub(CRAWLERS.as_ptr() as usize)
            / core::mem::size_of::<Crawler>();
        match CRAWLERS.get(at) {
            Some(k) if core::ptr::eq(k, self) => at,
            _ => 0,
        }
    }
}

impl Verdict {
    /// `genuine`, `fake`, `unverifiable` or `none`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::NoClaim => "none",
            Verdict::Genuine { .. } => "genuine",
            Verdict::Fake { .. } => "fake",
            Verdict::Unverifiable { .. } => "unverifiable",
        }
    }

    /// The crawler claimed, if any.
    pub fn crawler(&self) -> Option<&'static Crawler> {
        match *self {
            Verdict::NoClaim => None,
            Verdict::Genuine { crawler, .. }
            | Verdict::Fake { crawler }
            | Verdict::Unverifiable { crawler, .. } => Some(crawler),
        }
    }

    /// How bad: a request claiming several crawlers gets the worst of its verdicts.
    fn rank(&self) -> u8 {
        match self {
            Verdict::NoClaim => 0,
            Verdict::Genuine { .. } => 1,
            Verdict::Unverifiable { .. } => 2,
            Verdict::Fake { .. } => 3,
        }
    }
}

/// Writes `a, b and c`.
fn files(f: &mut fmt::Formatter<'_>, lists: impl Iterator<Item = &'static List>) -> fmt::Result {
    let mut lists = lists.peekable();
    let mut first = true;
    while let Some(l) = lists.next() {
        if !first {
            f.write_str(if lists.peek().is_some() {
                ", "
            } else {
                " and "
            })?;
        }
        f.write_str(l.file)?;
        first = false;
    }
    Ok(())
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Verdict::NoClaim => f.write_str("no crawler claimed"),
            Verdict::Genuine {
                crawler,
                list,
                prefix,
                ..
            } => write!(
                f,
                "genuine {} ({}): {prefix} in {}",
                crawler.token, crawler.operator, list.file
            ),
            Verdict::Fake { crawler } => {
                write!(
                    f,
                    "fake {}: claims {}'s {} from an address in none of its lists (",
                    crawler.token, crawler.operator, crawler.token
                )?;
                files(f, crawler.lists.iter().copied())?;
                f.write_str(")")
            }
            Verdict::Unverifiable { crawler, loaded } => {
                write!(
                    f,
                    "claims {} ({}), which ipfence cannot verify (no published list loaded: ",
                    crawler.token, crawler.operator
                )?;
                files(f, crawler.lists.iter().copied().filter(|l| !loaded.has(l)))?;
                if crawler.lists.iter().any(|l| loaded.has(l)) {
                    f.write_str("; the address is not in ")?;
                    files(f, crawler.lists.iter().copied().filter(|l| loaded.has(l)))?;
                }
                f.write_str(")")
            }
        }
    }
}

/// The verdict for one claimed crawler, given every published prefix containing the
/// address (longest first, as [`Matcher::matches`] gives them).
pub fn verdict<'m>(
    crawler: &'static Crawler,
    matches: impl IntoIterator<Item = Match<'m>>,
    loaded: Loaded,
) -> Verdict {
    for m in matches {
        for t in m.entries() {
            if let Some(&list) = crawler
                .lists
                .iter()
                .find(|l| l.holds(t.provider, t.service))
            {
                return Verdict::Genuine {
                    crawler,
                    list,
                    prefix: m.prefix(),
                    prefix_index: m.index(),
                };
            }
        }
    }
    if crawler.lists.iter().all(|l| loaded.has(l)) {
        Verdict::Fake { crawler }
    } else {
        Verdict::Unverifiable { crawler, loaded }
    }
}

/// The verdict for a request from `ip` with `user_agent`, on the data of `m` (whose
/// lists are `loaded`). A user agent claiming several crawlers gets the worst verdict
/// (fake, then unverifiable, then genuine). Allocates nothing.
pub fn verify<B: AsRef<[u8]>>(
    m: &Matcher<B>,
    loaded: Loaded,
    user_agent: &str,
    ip: IpAddr,
) -> Verdict {
    verify_claims(m, loaded, ClaimSet::of(user_agent), ip)
}

/// [`verify`] for the crawlers a user agent claims, found once ([`ClaimSet::of`]).
pub fn verify_claims<B: AsRef<[u8]>>(
    m: &Matcher<B>,
    loaded: Loaded,
    claimed: ClaimSet,
    ip: IpAddr,
) -> Verdict {
    if claimed.is_empty() {
        return Verdict::NoClaim;
    }
    verify_longest(m.lookup(ip), loaded, claimed)
}

/// [`verify_claims`] from the address's longest match, already looked up.
pub fn verify_longest(longest: Option<Match<'_>>, loaded: Loaded, claimed: ClaimSet) -> Verdict {
    let mut worst = Verdict::NoClaim;
    for c in claimed.iter() {
        let v = verdict(c, longest.into_iter().flat_map(Match::and_parents), loaded);
        if v.rank() > worst.rank() {
            worst = v;
            if matches!(worst, Verdict::Fake { .. }) {
                break;
            }
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    fn names(ua: &str) -> Vec<&'static str> {
        claims(ua).map(|c| c.token).collect()
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, l) in LISTS.iter().enumerate() {
            assert_eq!(usize::from(l.index), i, "{}", l.file);
        }
        for c in CRAWLERS {
            assert!(c.token.len() >= MIN_TOKEN, "{}", c.token);
            assert!(c.token.as_bytes()[0].is_ascii_alphabetic(), "{}", c.token);
            assert!(c.token.bytes().all(is_word_byte), "{}", c.token);
            assert!(!c.lists.is_empty(), "{}", c.token);
            // Each token claims its own crawler, whatever its case.
            assert_eq!(names(c.token), [c.token]);
            assert_eq!(names(&c.token.to_ascii_uppercase()), [c.token]);
            assert_eq!(names(&c.token.to_ascii_lowercase()), [c.token]);
            assert_eq!(
                CRAWLERS
                    .iter()
                    .filter(|k| k.token.eq_ignore_ascii_case(c.token))
                    .count(),
                1
            );
        }
        // The labels the lists need are the ones the parsers give (KNOWN_LABELS).
        for l in LISTS {
            if let Some(s) = l.service {
                let label = crate::source::KNOWN_LABELS
                    .iter()
                    .find(|(_, p, sv)| *p == l.provider && *sv == Some(s));
                assert!(label.is_some(), "{} has no label", l.file);
            }
        }
    }

    /// User agents in their published forms, with the token each claims first.
    const REAL: &[(&str, &str)] = &[
        ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.204 Safari/537.36", "Googlebot"),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "Googlebot"),
        ("Googlebot-Image/1.0", "Googlebot-Image"),
        ("Googlebot-Video/1.0", "Googlebot-Video"),
        ("Mozilla/5.0 (X11; Linux x86_64; Storebot-Google/1.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36", "Storebot-Google"),
        ("Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)", "Google-InspectionTool"),
        ("GoogleOther", "GoogleOther"),
        ("APIs-Google (+https://developers.google.com/webmasters/APIs-Google.html)", "APIs-Google"),
        ("AdsBot-Google (+http://www.google.com/adsbot.html)", "AdsBot-Google"),
        ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.84 Mobile Safari/537.36 (compatible; AdsBot-Google-Mobile; +http://www.google.com/mobile/adsbot.html)", "AdsBot-Google-Mobile"),
        ("Mediapartners-Google", "Mediapartners-Google"),
        ("FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)", "FeedFetcher-Google"),
        ("Mozilla/5.0 (compatible; Google-Site-Verification/1.0)", "Google-Site-Verification"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", "bingbot"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.1; +https://openai.com/gptbot", "GPTBot"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot", "ChatGPT-User"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot", "OAI-SearchBot"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", "Applebot"),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)", "PerplexityBot"),
        ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "DuckDuckBot"),
    ];

    #[test]
    fn tokens_match_as_whole_words() {
        let real = REAL;
        for &(ua, want) in real {
            assert_eq!(names(ua).first().copied(), Some(want), "{ua}");
        }
        // Case and spacing variants.
        assert_eq!(names("  GOOGLEBOT/2.1\t"), ["Googlebot"]);
        assert_eq!(names("compatible;googlebot"), ["Googlebot"]);
        assert_eq!(names("BingBot"), ["bingbot"]);
        // Not tokens: parts of other words, URLs, robots.txt-only tokens.
        for ua in [
            "NotGooglebot/1.0",
            "Googlebots",
            "Googlebot2",
            "my-googlebot",
            "http://www.bing.com/bingbot.htm",
            "Google-Extended",
            "Applebot-Extended",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "",
            "Google bot",
        ] {
            assert_eq!(names(ua), Vec::<&str>::new(), "{ua}");
        }
        assert_eq!(
            claim("x Googlebot-News y").map(|c| c.token),
            Some("Googlebot-News")
        );
        let set = ClaimSet::of("GPTBot Googlebot");
        let both: Vec<&str> = set.iter().map(|c| c.token).collect();
        assert_eq!(both, ["Googlebot", "GPTBot"]);
        assert!(ClaimSet::of("curl/8").is_empty());
        assert_eq!(CRAWLERS[3].index(), 3);
    }

    /// The reference matcher, as the module docs say it: split the user agent into
    /// words of letters, digits, `-`, `_` and `.`, and compare each word with every
    /// token, ignoring ASCII case.
    fn reference(ua: &[u8]) -> Vec<&'static str> {
        ua.split(|&b| !(b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
            .filter_map(|w| {
                CRAWLERS
                    .iter()
                    .find(|k| k.token.as_bytes().eq_ignore_ascii_case(w))
            })
            .map(|k| k.token)
            .collect()
    }

    fn set_of(tokens: &[&str]) -> ClaimSet {
        let mut bits = 0;
        for t in tokens {
            bits |= 1 << CRAWLERS.iter().position(|k| k.token == *t).unwrap();
        }
        ClaimSet(bits)
    }

    /// Checks the one-pass scan against the reference on `ua`.
    fn agrees(ua: &[u8]) {
        let want = reference(ua);
        assert_eq!(ClaimSet::of_bytes(ua), set_of(&want), "{ua:?}");
        assert_eq!(ClaimSet::scan(ua.len(), |i| ua[i]), set_of(&want), "{ua:?}");
        if let Ok(s) = core::str::from_utf8(ua) {
            assert_eq!(names(s), want, "{s}");
        }
    }

    #[test]
    fn the_scan_agrees_with_the_reference_on_real_user_agents() {
        let browsers = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "curl/8.5.0",
            "python-requests/2.32.3",
            "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 (compatible; Google-Extended)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) GPTBot/1.1 bingbot/2.0",
        ];
        for ua in REAL.iter().map(|(ua, _)| *ua).chain(browsers) {
            agrees(ua.as_bytes());
            agrees(ua.to_ascii_uppercase().as_bytes());
            agrees(ua.to_ascii_lowercase().as_bytes());
            // Every prefix and suffix: tokens cut at the ends of the input.
            for i in 0..=ua.len() {
                agrees(&ua.as_bytes()[..i]);
                agrees(&ua.as_bytes()[i..]);
            }
        }
    }

    /// Every token at every offset from the sampled bytes (two strides), after and
    /// before separators, word bytes and non-ASCII text, in three cases, whole and with
    /// one byte swapped for one with the same low five bits (the bits [`PAIRS`] sees).
    #[test]
    fn the_scan_agrees_with_the_reference_at_every_offset() {
        let befores: [&[u8]; 6] = [b" ", b"x", b"x ", b"\xc3\xa9", b"a.", b"G"];
        let afters: [&[u8]; 6] = [b"", b" ", b"x", b"/2.1", b"\xc3\xa9", b" GPTBot"];
        for c in CRAWLERS {
            let cases = [
                c.token.to_string(),
                c.token.to_ascii_uppercase(),
                c.token.to_ascii_lowercase(),
            ];
            for tok in &cases {
                for pad in 0..=2 * MIN_TOKEN + 1 {
                    for before in befores {
                        for after in afters {
                            let mut ua = before.repeat(pad);
                            ua.truncate(pad);
                            let at = ua.len();
                            ua.extend_from_slice(tok.as_bytes());
                            ua.extend_from_slice(after);
                            agrees(&ua);
                            if tok != c.token || pad > MIN_TOKEN || after.len() > 1 {
                                continue;
                            }
                            for i in 0..tok.len() {
                                for high in [0x00, 0x20, 0x40, 0x60, 0x80, 0xe0] {
                                    let mut v = ua.clone();
                                    v[at + i] = v[at + i] & 31 | high;
                                    agrees(&v);
                                }
                            }
                        }
                    }
                }
            }
        }
        // Tokens one separator apart, and after a word longer than any token.
        agrees(b"GPTBot GPTBot;bingbot/Googlebot(Applebot)GPTBot");
        agrees(b"GPTBotGPTBot GPTBot");
        agrees(b"Mozilla/5.0-compatible-and-far-too-long-to-be-a-token-Googlebot Googlebot");
        agrees(
            &[b'x'; 40]
                .iter()
                .chain(b" GPTBot")
                .copied()
                .collect::<Vec<u8>>(),
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Random strings made of tokens (in random case), pieces of tokens, tokens
        /// with one byte swapped for one that looks the same to [`PAIRS`], word bytes,
        /// separators and arbitrary bytes.
        #[test]
        fn the_scan_agrees_with_the_reference_on_random_strings(
            pieces in proptest::collection::vec(
                (0usize..7, proptest::prelude::any::<usize>(), proptest::prelude::any::<u64>(), proptest::prelude::any::<u8>()),
                0..24,
            )
        ) {
            let mut ua = Vec::new();
            for (kind, pick, case, byte) in pieces {
                let tok = CRAWLERS[pick % CRAWLERS.len()].token.as_bytes();
                let cased = tok.iter().enumerate().map(|(j, b)| {
                    if case >> (j % 64) & 1 == 1 { b.to_ascii_uppercase() } else { b.to_ascii_lowercase() }
                });
                match kind {
                    0 | 1 => ua.extend(cased),
                    2 => ua.extend(cased.take(pick % (tok.len() + 1))),
                    3 => ua.extend(b" /;()+:,\t".get(pick % 9)),
                    4 => ua.extend(b"-_.aZ9".get(pick % 6)),
                    5 => {
                        let at = ua.len() + pick % tok.len();
                        ua.extend(cased);
                        ua[at] = ua[at] & 31 | byte & !31;
                    }
                    _ => ua.push(byte),
                }
            }
            agrees(&ua);
        }
    }

    fn data() -> (Matcher, Loaded) {
        let mut r = Ranges::new();
        let t = |provider, service| crate::Tags {
            provider,
            service,
            region: "",
            extra: "",
        };
        r.push("66.0.0.0/8".parse().unwrap(), t("google", ""));
        r.push("66.249.64.0/27".parse().unwrap(), t("google", "googlebot"));
        r.push("66.249.64.0/28".parse().unwrap(), t("aws", "EC2"));
        r.push(
            "2001:4860:4801:10::/64".parse().unwrap(),
            t("google", "googlebot"),
        );
        r.push(
            "8.8.4.0/24".parse().unwrap(),
            t("google", "special-crawlers"),
        );
        r.push(
            "9.9.9.0/24".parse().unwrap(),
            t("google", "user-triggered-fetchers"),
        );
        let m = Matcher::build(&r).unwrap();
        let l = Loaded::of_ranges(&r);
        assert_eq!(l, Loaded::of_matcher(&m));
        (m, l)
    }

    #[test]
    fn verdicts() {
        let (m, l) = data();
        let v = |ua: &str, ip: &str| verify(&m, l, ua, ip.parse().unwrap());
        // Genuine even when a longer prefix of another list holds the address.
        let g = v("Googlebot/2.1", "66.249.64.3");
        assert_eq!(
            g.to_string(),
            "genuine Googlebot (Google): 66.249.64.0/27 in googlebot.json"
        );
        assert_eq!(v("Googlebot/2.1", "2001:4860:4801:10::1").kind(), "genuine");
        assert_eq!(v("Googlebot/2.1", "::ffff:66.249.64.3").kind(), "genuine");
        // goog.json's shorter prefix (no service) is not the crawler's list.
        let f = v("Googlebot/2.1", "66.1.1.1");
        assert_eq!(f.to_string(), "fake Googlebot: claims Google's Googlebot from an address in none of its lists (googlebot.json)");
        // A special-case crawler must come from its own list, not Googlebot's.
        assert_eq!(v("AdsBot-Google", "66.249.64.3").kind(), "fake");
        assert_eq!(v("AdsBot-Google", "8.8.4.4").kind(), "genuine");
        // One of the fetchers' three lists loaded: genuine inside it, else unverifiable.
        assert_eq!(v("FeedFetcher-Google", "9.9.9.9").kind(), "genuine");
        let u = v("FeedFetcher-Google", "66.249.64.3");
        assert_eq!(u.to_string(), "claims FeedFetcher-Google (Google), which ipfence cannot verify (no published list loaded: user-triggered-fetchers-google.json and user-triggered-agents.json; the address is not in user-triggered-fetchers.json)");
        // No list at all.
        let u = v("GPTBot/1.1", "66.249.64.3");
        assert_eq!(u.to_string(), "claims GPTBot (OpenAI), which ipfence cannot verify (no published list loaded: gptbot.json)");
        assert_eq!(v("Mozilla/5.0", "66.249.64.3"), Verdict::NoClaim);
        // Several claims: the worst.
        assert_eq!(v("Googlebot GPTBot", "66.249.64.3").kind(), "unverifiable");
        assert_eq!(v("GPTBot AdsBot-Google", "66.249.64.3").kind(), "fake");
        // With every list loaded, outside them all is fake.
        assert_eq!(
            verify(&m, Loaded::ALL, "GPTBot", "66.249.64.3".parse().unwrap()).kind(),
            "fake"
        );
    }
}
