// verifyBot in the full and the lite module: the same verdicts as `ipfence verify-bot
// --json` on Google's real crawler lists (tests/data/google), for real user-agent strings
// with case and spacing variants, IPv4 and IPv6, addresses inside every published prefix,
// just outside, and of the other lists.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const u = require('./util');

const full = u.pkgNode();
const lite = require(path.join(u.WASM, 'pkg', 'lite', 'node'));
const LISTS = ['googlebot', 'special-crawlers', 'user-triggered-fetchers'];
const inputs = LISTS.flatMap((n) => ['-i', `${n}=${path.join(u.DATA, 'google', n + '.json')}`]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipfence-bots-'));
const blobPath = path.join(dir, 'crawlers.ipfence');
u.cli(['compile', ...inputs, '--output', blobPath]);
const blob = fs.readFileSync(blobPath);
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const UAS = [
  'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'googlebot/2.1',
  '  GOOGLEBOT-IMAGE/1.0 ',
  'AdsBot-Google (+http://www.google.com/adsbot.html)',
  'FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)',
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.1; +https://openai.com/gptbot',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'NotGooglebot/1.0',
  // Not ASCII around a token (the fast path writes such units as spaces), and longer
  // than the fast path's buffer (512 units: the string path).
  '\u00e9Googlebot\u00e9/2.1 \u{1F600}',
  'x'.repeat(600) + ' Googlebot/2.1',
  // Longer than the buffer with tokens across 512 bytes: the string path scans such a
  // user agent a part at a time, cut between words.
  'x'.repeat(505) + ' Googlebot/2.1',
  'x '.repeat(254) + 'Googlebot-Image/1.0',
  '\u00e9'.repeat(300) + 'Googlebot',
  'x'.repeat(507) + 'Googlebot AdsBot-Google',
];

const v4 = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Addresses: first and last of some prefixes of each list, one past the end, others. */
function addresses() {
  const out = ['203.0.113.9', '2001:db8::1', '::ffff:66.249.79.70'];
  for (const n of LISTS) {
    const prefixes = JSON.parse(fs.readFileSync(path.join(u.DATA, 'google', n + '.json'), 'utf8')).prefixes;
    for (const p of prefixes.filter((_, i) => i % 37 === 0)) {
      const [a, len] = (p.ipv4Prefix || p.ipv6Prefix).split('/');
      if (p.ipv4Prefix) {
        const base = a.split('.').reduce((x, o) => x * 256 + Number(o), 0) >>> 0;
        const size = 2 ** (32 - Number(len));
        for (const k of [base, base + size - 1, base + size]) out.push(v4(k));
      } else {
        out.push(a + '1', a.replace(/::$/, ':ffff:ffff:ffff:ffff'));
      }
    }
  }
  return out;
}

test('verifyBot answers as ipfence verify-bot, full and lite', () => {
  const ips = addresses();
  const f = full.IpFence.fromBlob(blob);
  const l = lite.IpFence.fromBlob(blob);
  const kinds = new Set();
  for (const ua of UAS) {
    const want = u
      .cli(['verify-bot', '--json', '-A', ua, ...inputs], ips.join('\n') + '\n')
      .trim()
      .split('\n')
      .map((x) => JSON.parse(x));
    assert.equal(want.length, ips.length);
    want.forEach((w, i) => {
      const { ip, ...expected } = w;
      for (const g of [f, l]) {
        const got = g.verifyBot(ua, ip);
        assert.deepEqual({ ...got }, expected, `${ua} ${ip}`);
        assert.ok(Object.isFrozen(got));
        assert.equal(g.verifyBot(ua, ips[i]), got, 'the same answer is the same object');
      }
      kinds.add(w.verdict);
    });
  }
  assert.deepEqual([...kinds].sort(), ['fake', 'genuine', 'none', 'unverifiable']);
  f.free();
  l.free();
});

test('verifyBot answers the same whatever user agent came before', () => {
  // The fast path keeps the last user agent's claims: alternate user agents, and pass
  // equal strings that are different objects.
  const ips = addresses().filter((_, i) => i % 7 === 0);
  for (const m of [full, lite]) {
    const g = m.IpFence.fromBlob(blob);
    const want = UAS.map((ua) => ips.map((ip) => g.verifyBot(ua, ip)));
    for (let round = 0; round < 3; round++) {
      ips.forEach((ip, i) => {
        UAS.forEach((ua, k) => {
          const copy = round === 1 ? [...ua].join('') : ua;
          assert.equal(g.verifyBot(copy, ip), want[k][i], `${ua} ${ip}`);
        });
      });
    }
    g.free();
  }
});

test('verifyBot refuses what is not an address, and works on a fence without crawler lists', () => {
  const f = lite.IpFence.fromBlob(blob);
  assert.throws(() => f.verifyBot('Googlebot', '66.249.79.300'), { message: '"66.249.79.300" is not an IPv4 or IPv6 address' });
  assert.throws(() => f.verifyBot('curl/8', 'nope'), { message: '"nope" is not an IPv4 or IPv6 address' });
  f.free();
  const awsBlob = path.join(dir, 'aws.ipfence');
  u.cli(['compile', '-i', u.AWS, '--output', awsBlob]);
  const aws = lite.IpFence.fromBlob(fs.readFileSync(awsBlob));
  const v = aws.verifyBot('Googlebot/2.1', '66.249.79.70');
  assert.equal(v.verdict, 'unverifiable');
  assert.match(v.message, /cannot verify \(no published list loaded: googlebot\.json\)/);
  assert.equal(aws.verifyBot('Mozilla/5.0', '66.249.79.70').verdict, 'none');
  aws.free();
});
