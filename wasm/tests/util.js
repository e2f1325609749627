// Shared helpers of the JS tests: paths, the native CLI, address samples, free ports.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const WASM = path.resolve(__dirname, '..');
const ROOT = path.resolve(WASM, '..');
const DATA = path.join(ROOT, 'tests', 'data');
// The snapshot the CLI embeds (src/lib.rs EMBEDDED_AWS) and the page's blob is built from.
const AWS = path.join(DATA, 'aws', 'ip-ranges-2026-08-22-15-17-05.json');
const AWS_OLDER = path.join(DATA, 'aws', 'ip-ranges-2026-08-22-11-57-05.json');
const CLI = process.env.IPFENCE_BIN || path.join(ROOT, 'target', 'release', 'ipfence');
const OUT = process.env.IPFENCE_TEST_OUTPUT || path.join(ROOT, 'test-output', 'wasm');

function pkgNode() {
  return require(path.join(WASM, 'pkg', 'node'));
}

/** Runs the native CLI; returns stdout (exit 0 or 1 are answers, not failures). */
function cli(args, input) {
  const r = spawnSync(CLI, args, { input, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0 && r.status !== 1) {
    throw new Error(`ipfence ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  }
  return r.stdout;
}

/** Deterministic PRNG (mulberry32), so a failure can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  };
}

function v4(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function v6(words) {
  return words.map((w) => w.toString(16)).join(':');
}

/**
 * Addresses that probe every edge of the published prefixes: the first and last address
 * of each IPv4 prefix and their outside neighbours, random addresses inside, random
 * IPv4 and IPv6 addresses anywhere, IPv6 inside published /56s, IPv4-mapped IPv6.
 */
function sampleAddresses(awsJson, count, seed = 1) {
  const next = rng(seed);
  const doc = JSON.parse(awsJson);
  const out = [];
  for (const p of doc.prefixes) {
    const [a, len] = p.ip_prefix.split('/');
    const base = a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(len));
    out.push(v4(base), v4(base + size - 1));
    if (base > 0) out.push(v4(base - 1));
    if (base + size < 2 ** 32) out.push(v4(base + size));
    out.push(v4(base + (next() % size)));
    if (out.length >= count * 0.6) break;
  }
  for (const p of doc.ipv6_prefixes.slice(0, Math.floor(count * 0.1))) {
    const a = p.ipv6_prefix.split('/')[0];
    const head = a.replace(/::$/, '').split(':').map((w) => parseInt(w || '0', 16));
    while (head.length < 4) head.push(0);
    out.push(v6([...head.slice(0, 4), next() & 0xffff, next() & 0xffff, next() & 0xffff, 1]));
  }
  while (out.length < count * 0.95) out.push(v4(next()));
  while (out.length < count) {
    if (out.length % 2) out.push(`::ffff:${v4(next())}`);
    else out.push(v6(Array.from({ length: 8 }, () => next() & 0xffff)));
  }
  return out;
}

/** The CLI's `lookup --json` answers, in the wasm API's shape. */
function cliLookups(args, ips) {
  const lines = cli(['lookup', '--json', ...args], ips.join('\n') + '\n').trim().split('\n');
  // The CLI names the extra field in snake_case (network_border_group, system_service),
  // the package in camelCase.
  const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  return lines.map((l) => {
    const o = JSON.parse(l);
    if (!o.match) return { ip: o.ip, match: null };
    return {
      ip: o.ip,
      match: {
        prefix: o.match.prefix,
        entries: o.match.entries.map((e) =>
          Object.fromEntries(Object.entries(e).map(([k, v]) => [camel(k), v]))),
      },
    };
  });
}

/** A blob compiled from the AWS fixture alone (cached), for comparisons with fromAwsJson. */
let awsBlobBytes = null;
function awsBlob() {
  if (!awsBlobBytes) {
    const file = path.join(outDir('aws-blob'), 'aws.ipfence');
    cli(['compile', '--input', AWS, '--output', file]);
    awsBlobBytes = fs.readFileSync(file);
  }
  return awsBlobBytes;
}

/** The 32-bit number of a dotted-quad IPv4 address (`3.5.140.2` is 0x03058c02). */
function v4Number(s) {
  return s.split('.').reduce((x, o) => x * 256 + Number(o), 0);
}

/** The 16 bytes (network order) of an IPv6 address, `::` and a dotted-quad tail included. */
function v6Bytes(s) {
  let words = (t) => (t ? t.split(':') : []);
  const [head, tail] = s.includes('::') ? s.split('::') : [s, null];
  let h = words(head);
  let t = tail === null ? [] : words(tail);
  const last = tail === null ? h : t;
  if (last.length && last[last.length - 1].includes('.')) {
    const n = v4Number(last.pop());
    last.push((n >>> 16).toString(16), (n & 0xffff).toString(16));
  }
  const all = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 255;
  });
  return out;
}

/** IPv4 addresses as a Uint32Array and IPv6 ones as 16-byte records, for the binary batches. */
function pack(ips) {
  const v4s = ips.filter((s) => !s.includes(':'));
  const v6s = ips.filter((s) => s.includes(':'));
  const bytes = new Uint8Array(16 * v6s.length);
  v6s.forEach((s, i) => bytes.set(v6Bytes(s), 16 * i));
  return { v4s, v6s, v4: Uint32Array.from(v4s, v4Number), v6: bytes };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function outDir(name) {
  const d = path.join(OUT, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

module.exports = {
  WASM, ROOT, DATA, AWS, AWS_OLDER, CLI, pkgNode, cli, rng, sampleAddresses, cliLookups,
  freePort, outDir, v4Number, v6Bytes, pack, awsBlob,
};
