// Node benchmark of the wasm package on the real AWS data: contains and lookup per call
// and via lookupMany/containsMany (strings and binary), fromBlob and fromAwsJson start-up. Addresses are drawn
// like benches/lookup.rs (4,096 per batch: half inside a random published prefix, half
// random). Prints the criterion figures of the native matcher beside them when
// target/criterion holds them (`cargo bench --bench lookup`).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const u = require('../tests/util');

const { IpFence } = u.pkgNode();
const BATCH = 4096;
const awsText = fs.readFileSync(u.AWS, 'utf8');
const doc = JSON.parse(awsText);
const blob = fs.readFileSync(path.join(u.WASM, 'www', 'aws.ipfence'));
const next = u.rng(42);
const rand64 = () => (BigInt(next()) << 32n) | BigInt(next());

function queriesV4() {
  return Array.from({ length: BATCH }, (_, i) => {
    let n;
    if (i % 2 === 0) {
      const p = doc.prefixes[next() % doc.prefixes.length].ip_prefix;
      const [a, len] = p.split('/');
      const base = a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
      n = base + (next() % 2 ** (32 - Number(len)));
    } else {
      n = next();
    }
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  });
}

function v6ToBig(a) {
  const [head, tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return words.reduce((x, w) => (x << 16n) | BigInt(parseInt(w, 16)), 0n);
}

function bigToV6(n) {
  const w = [];
  for (let i = 7; i >= 0; i--) w.push(((n >> BigInt(16 * i)) & 0xffffn).toString(16));
  return w.join(':');
}

function queriesV6() {
  return Array.from({ length: BATCH }, (_, i) => {
    const r = (rand64() << 64n) | rand64();
    if (i % 2 === 0) {
      const p = doc.ipv6_prefixes[next() % doc.ipv6_prefixes.length].ipv6_prefix;
      const [a, len] = p.split('/');
      const host = (1n << BigInt(128 - Number(len))) - 1n;
      return bigToV6(v6ToBig(a) | (r & host));
    }
    return bigToV6(r);
  });
}

/** Median nanoseconds per call of fn over `rounds` runs of `per` calls. */
function time(fn, per, rounds = 31) {
  for (let i = 0; i < 3; i++) fn();
  const t = [];
  for (let i = 0; i < rounds; i++) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) / per);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

/**
 * Median nanoseconds per call of each function of `fns` (an object) over `rounds`
 * rounds, each running every function once, starting one further each round: rows
 * compared with each other drift together when the machine's load changes.
 */
function timeTogether(fns, per, rounds = 31) {
  const names = Object.keys(fns);
  for (let i = 0; i < 3; i++) for (const n of names) fns[n]();
  const t = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(i + k) % names.length];
      const s = process.hrtime.bigint();
      fns[n]();
      t[n].push(Number(process.hrtime.bigint() - s) / per);
    }
  }
  const mid = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  return Object.fromEntries(names.map((n) => [n, mid(t[n])]));
}

/** Median ns per lookup on a fresh fence: each result object is built, none cached. */
function coldLookup(qs, rounds = 9) {
  const t = [];
  for (let i = 0; i < rounds; i++) {
    const g = IpFence.fromBlob(blob);
    const s = process.hrtime.bigint();
    for (const q of qs) g.lookup(q);
    t.push(Number(process.hrtime.bigint() - s) / qs.length);
    g.free();
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

function native(group, name) {
  try {
    const f = path.join(u.ROOT, 'target', 'criterion', group, name, 'new', 'estimates.json');
    return JSON.parse(fs.readFileSync(f, 'utf8')).median.point_estimate / BATCH;
  } catch {
    return null;
  }
}

const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(1)} ns`);
const rows = [];
// `textNs`: for rows that take strings, the native figure that parses the text too
// (criterion's ipfence_contains_from_text: parse_addr, then contains).
function row(what, ns, nativeNs, textNs) {
  const ratio = (d) => (d ? (ns / d).toFixed(1) + 'x' : '-');
  rows.push({
    what,
    wasm: fmt(ns),
    native: nativeNs ? fmt(nativeNs) : '-',
    ratio: ratio(nativeNs),
    'native from text': textNs ? fmt(textNs) : '-',
    'ratio (text)': ratio(textNs),
  });
}

// Start-up.
const t0 = process.hrtime.bigint();
const first = IpFence.fromBlob(blob);
const firstNs = Number(process.hrtime.bigint() - t0);
first.free();
row(`fromBlob, first call (${blob.length} bytes)`, firstNs, null);
row('fromBlob (median)', time(() => IpFence.fromBlob(blob).free(), 1, 51), native('compile', 'load_from_bytes') ? native('compile', 'load_from_bytes') * BATCH : null);
const lite = require(path.join(u.WASM, 'pkg', 'lite', 'node'));
row('fromBlob, lite module (median)', time(() => lite.IpFence.fromBlob(blob).free(), 1, 51), null);
row('fromAwsJson, full file (median)', time(() => IpFence.fromAwsJson(awsText).free(), 1, 9), null);

const f = IpFence.fromBlob(blob);
for (const [fam, qs] of [['v4', queriesV4()], ['v6', queriesV6()]]) {
  const text = native(`lookup_${fam}`, 'ipfence_contains_from_text');
  row(`contains ${fam}, per call`, time(() => { for (const q of qs) f.contains(q); }, BATCH), native(`lookup_${fam}`, 'ipfence_contains'), text);
  row(`lookup ${fam}, per call`, time(() => { for (const q of qs) f.lookup(q); }, BATCH), native(`lookup_${fam}`, 'ipfence_lookup'), text);
  row(`lookup ${fam}, per call, first of each prefix (new fence)`, coldLookup(qs), native(`lookup_${fam}`, 'ipfence_lookup'));
  row(`containsMany ${fam}, per address`, time(() => f.containsMany(qs), BATCH), native(`lookup_${fam}`, 'ipfence_contains'), text);
  row(`lookupMany ${fam}, per address`, time(() => f.lookupMany(qs), BATCH), native(`lookup_${fam}`, 'ipfence_lookup'), text);
  // Binary batches: a Uint32Array of IPv4 numbers or 16-byte IPv6 records, no strings.
  const packed = fam === 'v4' ? u.pack(qs).v4 : u.pack(qs).v6;
  row(`containsMany ${fam} (${packed.constructor.name}), per address`, time(() => f.containsMany(packed), BATCH), native(`lookup_${fam}`, 'ipfence_contains'));
  row(`lookupMany ${fam} (${packed.constructor.name}), per address`, time(() => f.lookupMany(packed), BATCH), native(`lookup_${fam}`, 'ipfence_lookup'));
}
// verifyBot against lookup of the same addresses (issue 17: at most 2x), with a real
// Googlebot user agent (verdicts: fake for AWS addresses, the matcher's walk and the
// crawler list check). "same UA": one string, as a worker sees a crawler's repeated
// requests (the last user agent's claims are kept: wasm/js/fast.js); "new UA": 4,096
// distinct strings in turn, so each call scans its user agent.
const googlebot = (v) => `Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.${v}.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)`;
const ua = googlebot(6778);
const uas = Array.from({ length: BATCH }, (_, i) => googlebot(i));
const uaBytes = Math.round(uas.reduce((n, s) => n + s.length, 0) / BATCH);
// The same in the lite (edge) module, which the target is for. "into wasm": a
// new user agent's way into wasm without the scan, TextEncoder.encodeInto (here into a
// plain buffer) and an empty call; a verification with a new user agent costs at least
// that plus one with the same user agent, whatever the scan.
const fl = lite.IpFence.fromBlob(blob);
const enc = new TextEncoder();
const encoded = new Uint8Array(512);
const L = lite.IpFence;
// Each module's rows are timed together (timeTogether), so that their ratios hold when
// the load of a shared machine changes between rows.
for (const [fam, qs] of [['v4', queriesV4()], ['v6', queriesV6()]]) {
  for (const [mod, g] of [['', f], ['lite ', fl]]) {
    const fns = {
      look: () => { for (const q of qs) g.lookup(q); },
      same: () => { for (const q of qs) g.verifyBot(ua, q); },
      fresh: () => { for (let i = 0; i < BATCH; i++) g.verifyBot(uas[i], qs[i]); },
    };
    if (mod) fns.into = () => { for (let i = 0; i < BATCH; i++) L.__claimsAt(enc.encodeInto(uas[i], encoded).written & 0); };
    const { look, same, fresh, into } = timeTogether(fns, BATCH);
    const x = (ns) => `${(ns / look).toFixed(2)}x lookup`;
    row(`${mod}lookup ${fam} (for verifyBot), per call`, look, null);
    row(`${mod}verifyBot ${fam}, same UA, per call (${x(same)})`, same, null);
    row(`${mod}verifyBot ${fam}, new UA each call, per call (${x(fresh)})`, fresh, null);
    if (mod) row(`${mod}a new UA (${uaBytes} bytes) into wasm, per call (same UA + this: ${x(same + into)})`, into, null);
  }
}
// The lite module, whole and selected: its select is a view over the loaded blob (a
// prefix id redirected to the longest selected prefix), the full module's compiles.
const sels = [
  ['lite', fl],
  ['lite select(aws)', fl.select({ providers: ['aws'] })],
  ['full select(aws)', f.select({ providers: ['aws'] })],
  ['lite select(EC2 us-east-1)', fl.select({ services: ['EC2'], regions: ['us-east-1'] })],
  ['full select(EC2 us-east-1)', f.select({ services: ['EC2'], regions: ['us-east-1'] })],
];
for (const [fam, qs] of [['v4', queriesV4()], ['v6', queriesV6()]]) {
  const packed = fam === 'v4' ? u.pack(qs).v4 : u.pack(qs).v6;
  for (const [name, g] of sels) {
    row(`${name}: contains ${fam}, per call`, time(() => { for (const q of qs) g.contains(q); }, BATCH), null);
    row(`${name}: lookup ${fam}, per call`, time(() => { for (const q of qs) g.lookup(q); }, BATCH), null);
    row(`${name}: lookupMany ${fam} (${packed.constructor.name}), per address`, time(() => g.lookupMany(packed), BATCH), null);
    row(`${name}: verifyBot ${fam}, same UA, per call`, time(() => { for (const q of qs) g.verifyBot(ua, q); }, BATCH), null);
  }
}
for (const [, g] of sels) g.free();
f.free();

console.log(`node ${process.version}; .wasm ${fs.statSync(path.join(u.WASM, 'pkg', 'node', 'ipfence_wasm_bg.wasm')).size} bytes`);
console.log('native: criterion medians from target/criterion (benches/lookup.rs; addresses already parsed, no strings); native from text: the same parsing the address text first (ipfence_contains_from_text)');
console.table(rows);
