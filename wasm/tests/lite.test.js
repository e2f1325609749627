// The lite module (wasm/pkg/lite: built without the `full` feature): the same answers as
// the full module for the compiled AWS snapshot, select, toBlob and info, the same
// errors, and none of the full API's parsers, exports or diff.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const u = require('./util');

const full = u.pkgNode();
const lite = require(path.join(u.WASM, 'pkg', 'lite', 'node'));
const blob = fs.readFileSync(path.join(u.WASM, 'www', 'aws.ipfence'));
const awsText = fs.readFileSync(u.AWS, 'utf8');
const ips = u.sampleAddresses(awsText, 10000, 11);

test('the lite module answers like the full one', () => {
  const a = lite.IpFence.fromBlob(blob);
  const b = full.IpFence.fromBlob(blob);
  assert.deepEqual(a.lookupMany(ips), b.lookupMany(ips));
  assert.deepEqual(a.containsMany(ips), b.containsMany(ips));
  for (const ip of ips.slice(0, 2000)) {
    assert.deepEqual(a.lookup(ip), b.lookup(ip), ip);
    assert.equal(a.contains(ip), b.contains(ip), ip);
  }
  const { v4, v6 } = u.pack(ips);
  assert.deepEqual(a.lookupMany(v4), b.lookupMany(v4));
  assert.deepEqual(a.containsMany(v6), b.containsMany(v6));
  assert.ok(a.containsMany(ips).includes(1) && a.containsMany(ips).includes(0));
  assert.deepEqual(a.info(), b.info());
  assert.deepEqual(Buffer.from(a.toBlob()), blob);
  const s = a.select({ services: ['CLOUDFRONT'], family: 'ipv4' });
  const t = b.select({ services: ['CLOUDFRONT'], family: 'ipv4' });
  assert.deepEqual(s.lookupMany(ips), t.lookupMany(ips));
  assert.ok(s.lookupMany(ips).some((m) => m !== null));
  for (const x of [a, b, s, t]) x.free();
});

test('the lite module reports bad input like the full one', () => {
  const message = (fn) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof Error);
      return e.message;
    }
    return assert.fail('no error');
  };
  const bad = new Uint8Array(blob.subarray(0, 1000));
  assert.match(message(() => lite.IpFence.fromBlob(bad)), /blob/);
  assert.equal(message(() => lite.IpFence.fromBlob(bad)), message(() => full.IpFence.fromBlob(bad)));
  const f = lite.IpFence.fromBlob(blob);
  const g = full.IpFence.fromBlob(blob);
  assert.throws(() => f.lookup('3.5.140.256'), { message: '"3.5.140.256" is not an IPv4 or IPv6 address' });
  assert.equal(message(() => f.select({ services: 'NOPE' })), message(() => g.select({ services: 'NOPE' })));
  f.free();
  g.free();
});

test('the lite module leaves out the parsers, exports, diff and names', () => {
  for (const k of ['fromAwsJson', 'fromCloudFrontJson', 'fromText', 'fromSource', 'detectFormat', 'sourceFormats']) {
    assert.equal(typeof full.IpFence[k], 'function', k);
    assert.equal(lite.IpFence[k], undefined, k);
  }
  for (const k of ['export', 'exportUpdate', 'diff', 'names']) {
    assert.equal(typeof full.IpFence.prototype[k], 'function', k);
    assert.equal(lite.IpFence.prototype[k], undefined, k);
  }
  const size = (p) => fs.statSync(path.join(u.WASM, 'pkg', ...p, 'node', 'ipfence_wasm_bg.wasm')).size;
  assert.ok(size(['lite']) * 2 < size([]), `lite ${size(['lite'])} bytes, full ${size([])}`);
});

// The lite module's select is a view over the loaded blob (it has no compiler:
// wasm/src/fence.rs `Fence::view`); the full module compiles the selection. Both must
// answer alike on the embedded data, including where the view answers from a shorter
// selected prefix than the data's longest match.

/** Edges and insides of Google's published prefixes (goog.json, cloud.json, the crawler lists). */
function googleAddresses(seed) {
  const next = u.rng(seed);
  const out = [];
  for (const file of ['goog.json', 'cloud.json', 'googlebot.json', 'special-crawlers.json']) {
    const doc = JSON.parse(fs.readFileSync(path.join(u.DATA, 'google', file), 'utf8'));
    for (const p of doc.prefixes) {
      if (p.ipv4Prefix) {
        const [a, len] = p.ipv4Prefix.split('/');
        const base = u.v4Number(a);
        const size = 2 ** (32 - Number(len));
        for (const n of [base - 1, base, base + (next() % size), base + size - 1, base + size]) {
          if (n >= 0 && n < 2 ** 32) out.push([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
        }
      } else {
        const head = p.ipv6Prefix.split('/')[0].replace(/::$/, '').split(':');
        while (head.length < 4) head.push('0');
        const tail = Array.from({ length: 4 }, () => (next() & 0xffff).toString(16));
        out.push([...head.slice(0, 4), ...tail].join(':'), `${p.ipv6Prefix.split('/')[0]}1`);
      }
    }
  }
  return out;
}

const selections = [
  { providers: ['aws'] },
  { services: ['EC2'] },
  { providers: ['aws'], services: ['AMAZON'] },
  { providers: ['aws'], regions: ['us-east-1'] },
  // Shorter prefixes holding longer ones of other regions and services.
  { providers: ['aws'], regions: ['GLOBAL'] },
  { providers: ['google'], services: ['Google Cloud'] },
  { providers: ['google:googlebot'] },
  { providers: ['google:googlebot', 'google:special-crawlers'] },
  { providers: ['google'], family: 'ipv6' },
  { providers: ['aws'], services: ['S3'], family: 'ipv4' },
];

test('a selection in the lite module answers as a compiled one', () => {
  const all = [...ips, ...googleAddresses(5)];
  const { v4, v6 } = u.pack(all);
  const a = lite.IpFence.fromBlob(blob);
  const b = full.IpFence.fromBlob(blob);
  let fromParent = 0;
  for (const filter of selections) {
    const s = a.select(filter);
    const t = b.select(filter);
    const what = JSON.stringify(filter);
    assert.deepEqual(s.lookupMany(all), t.lookupMany(all), what);
    assert.deepEqual(s.containsMany(all), t.containsMany(all), what);
    assert.deepEqual(s.lookupMany(v4), t.lookupMany(v4), what);
    assert.deepEqual(s.lookupMany(v6), t.lookupMany(v6), what);
    assert.deepEqual(s.containsMany(v4), t.containsMany(v4), what);
    assert.deepEqual(s.containsMany(v6), t.containsMany(v6), what);
    for (const ip of all.filter((_, i) => i % 5 === 0)) {
      assert.deepEqual(s.lookup(ip), t.lookup(ip), `${what} ${ip}`);
      assert.equal(s.contains(ip), t.contains(ip), `${what} ${ip}`);
    }
    // Answers from a shorter selected prefix than the data's longest match.
    const longest = a.lookupMany(all);
    s.lookupMany(all).forEach((m, i) => {
      if (m && m.prefix !== longest[i].prefix) fromParent++;
    });
    const { blobBytes: _x, ...si } = s.info();
    const { blobBytes: _y, ...ti } = t.info();
    assert.deepEqual(si, ti, what);
    // Result objects are the selection's own: the unselected fence keeps its entries.
    const one = all.find((ip) => s.lookup(ip) && s.lookup(ip).entries.length < a.lookup(ip).entries.length);
    if (one) assert.notEqual(s.lookup(one), a.lookup(one));
    s.free();
    t.free();
  }
  assert.ok(fromParent > 100, `${fromParent} answers from a parent prefix`);
  a.free();
  b.free();
});

test('verifyBot on a selection in the lite module answers as on a compiled one', () => {
  const all = googleAddresses(9).concat(ips.slice(0, 3000));
  const uas = [
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.175 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; Google-InspectionTool/1.0)',
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.1; +https://openai.com/gptbot',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
  ];
  const a = lite.IpFence.fromBlob(blob);
  const b = full.IpFence.fromBlob(blob);
  const verdicts = new Set();
  for (const filter of [{ providers: ['google:googlebot'] }, { providers: ['google'] }, { providers: ['aws'] }]) {
    const s = a.select(filter);
    const t = b.select(filter);
    for (const ua of uas) {
      for (const ip of all) {
        const got = s.verifyBot(ua, ip);
        assert.deepEqual(got, t.verifyBot(ua, ip), `${JSON.stringify(filter)} ${ua} ${ip}`);
        verdicts.add(got.verdict);
      }
    }
    s.free();
    t.free();
  }
  assert.deepEqual([...verdicts].sort(), ['fake', 'genuine', 'none', 'unverifiable']);
  a.free();
  b.free();
});

test('a selection in the lite module refuses what a compiled one refuses', () => {
  const message = (fn) => {
    try {
      fn();
    } catch (e) {
      return e.message;
    }
    return assert.fail('no error');
  };
  const a = lite.IpFence.fromBlob(blob);
  const b = full.IpFence.fromBlob(blob);
  for (const filter of [
    { services: ['NO_SUCH'] },
    { providers: ['nope'] },
    { regions: ['global'] },
    { providers: ['cloudflare', 'github'], services: ['hooks'] },
    { providers: ['github:hookz'] },
  ]) {
    assert.equal(message(() => a.select(filter)), message(() => b.select(filter)), JSON.stringify(filter));
  }
  const s = a.select({ providers: ['aws'] });
  const t = b.select({ providers: ['aws'] });
  assert.equal(message(() => s.select({ providers: ['google'] })), message(() => t.select({ providers: ['google'] })));
  // What needs the compiler is refused with what to do instead.
  assert.match(message(() => a.select({ services: ['AMAZON'], excludeServices: ['EC2'] })), /^excludeServices: the lite module/);
  assert.match(message(() => s.toBlob()), /^toBlob: this selection \(provider=aws\) is a view/);
  for (const x of [a, b, s, t]) x.free();
});
