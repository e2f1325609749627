// The JS API of the node build (wasm/pkg/node) against the real AWS fixtures, cross-checked
// with the native CLI's `ipfence lookup --json`, `export` and `diff --json`.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const u = require('./util');

const { IpFence } = u.pkgNode();
const awsText = fs.readFileSync(u.AWS, 'utf8');
const awsDoc = JSON.parse(awsText);
const SAMPLE = 12000;
const ips = u.sampleAddresses(awsText, SAMPLE, 7);

test('lookup, contains, lookupMany and containsMany agree with the CLI on 12,000 addresses', () => {
  assert.ok(ips.length >= 10000);
  const want = u.cliLookups(['--input', u.AWS], ips);
  assert.equal(want.length, ips.length);
  const f = IpFence.fromAwsJson(awsText, {});
  const many = f.lookupMany(ips);
  const flags = f.containsMany(ips);
  let allowed = 0;
  for (let i = 0; i < ips.length; i++) {
    assert.equal(want[i].ip, ips[i]);
    const one = f.lookup(ips[i]);
    assert.deepEqual(one, want[i].match, ips[i]);
    assert.deepEqual(many[i], want[i].match, ips[i]);
    assert.equal(f.contains(ips[i]), want[i].match !== null, ips[i]);
    assert.equal(flags[i], want[i].match !== null ? 1 : 0, ips[i]);
    if (want[i].match) allowed++;
  }
  // The sample must exercise both answers, or the comparison proves little.
  assert.ok(allowed > ips.length / 4 && allowed < ips.length * 3 / 4, `allowed ${allowed}`);
  f.free();
});

test('binary batches (Uint32Array IPv4, 16-byte Uint8Array IPv6) answer like the strings', () => {
  const f = IpFence.fromAwsJson(awsText);
  const p = u.pack(ips);
  assert.ok(p.v4s.length > 5000 && p.v6s.length > 1000, `${p.v4s.length} / ${p.v6s.length}`);
  // The IPv4-mapped ones among the IPv6 records are looked up as IPv4, like the strings.
  assert.ok(p.v6s.some((s) => s.startsWith('::ffff:')));
  for (const [strs, bin] of [[p.v4s, p.v4], [p.v6s, p.v6]]) {
    const want = f.lookupMany(strs);
    const got = f.lookupMany(bin);
    assert.equal(got.length, strs.length);
    for (let i = 0; i < strs.length; i++) assert.equal(got[i], want[i], strs[i]); // the same objects
    assert.deepEqual(f.containsMany(bin), f.containsMany(strs));
    assert.ok(want.some((m) => m === null) && want.some((m) => m !== null));
  }
  assert.deepEqual(f.containsMany(new Uint32Array(0)), new Uint8Array(0));
  assert.deepEqual(f.lookupMany(new Uint8Array(0)), []);
  f.free();
});

test('the fast path answers and throws like the ordinary one at its edges', () => {
  const f = IpFence.fromAwsJson(awsText);
  const notAddr = (s) => ({ name: 'Error', message: `${JSON.stringify(s)} is not an IPv4 or IPv6 address` });
  for (const s of ['', ' 3.5.140.2', '3.5.140.2 ', '3.5.140.2/32', '3.5.140.256', '3.5.140', 'é', '3.5.140.２',
    '1:2:3:4:5:6:7:8:9', '1::2::3', '3'.repeat(65), '2600:1f18::1%eth0']) {
    assert.throws(() => f.contains(s), notAddr(s));
    assert.throws(() => f.lookup(s), notAddr(s));
    assert.throws(() => f.containsMany(['3.5.140.2', s]), { message: `ips[1]: ${notAddr(s).message}` });
    assert.throws(() => f.lookupMany(['3.5.140.2', s]), { message: `ips[1]: ${notAddr(s).message}` });
  }
  // Every length up to the scratch size and past it.
  const full = '0000:0000:0000:0000:0000:ffff:3.5.140.2';
  for (const s of ['3.5.140.2', full, '::ffff:3.5.140.2', 'ABCD:EF::1', '2600:1F18::1']) {
    assert.equal(f.contains(s), f.contains(s.toLowerCase().replace('0000:0000:0000:0000:0000:', '::')));
  }
  assert.equal(f.lookup(full), f.lookup('3.5.140.2'));
  // A fence made while another is in use grows wasm memory (detaching the JS views the
  // fast path writes through); the first fence still answers right afterwards.
  const before = f.lookup('3.5.140.2');
  const more = Array.from({ length: 4 }, () => IpFence.fromAwsJson(awsText));
  assert.equal(f.contains('3.5.140.2'), true);
  assert.equal(f.contains('8.8.8.8'), false);
  assert.equal(f.lookup('3.5.140.9'), before);
  for (const g of more) {
    assert.equal(g.contains('3.5.140.2'), true);
    g.free();
  }
  f.free();
  // A freed fence throws (the generated methods' error), on the fast path's methods too.
  assert.throws(() => f.contains('3.5.140.2'), Error);
  assert.throws(() => f.lookup('3.5.140.2'), Error);
  assert.throws(() => f.lookupMany(new Uint32Array(1)), Error);
});

test('the JS address readers of the fast path agree with the Rust parser (random near-addresses)', () => {
  const f = IpFence.fromAwsJson(awsText);
  const next = u.rng(5);
  const pick = (chars) => chars[next() % chars.length];
  const answer = (fn) => { try { return fn(); } catch (e) { assert.ok(e instanceof Error); return e.message; } };
  const v4s = [];
  const v6s = [];
  for (let i = 0; i < 6000; i++) {
    // Dotted quads with odd octets (leading zeros, 256, empty, 4 digits, extra dots) ...
    let a = '';
    const parts = next() % 5 ? 4 : 3 + 2 * (next() % 2);
    for (let k = 0; k < parts; k++) {
      if (k) a += next() % 50 ? '.' : pick(['..', ':', '']);
      const r = next() % 10;
      a += r < 7 ? String(next() % 256) : r < 8 ? '0' + (next() % 30) : r < 9 ? String(250 + (next() % 10)) : pick(['', '1000', 'a', '-1']);
    }
    v4s.push(a);
    // ... and colon groups inside published IPv6 prefixes, with odd groups and separators.
    let b = '';
    const groups = next() % 3 ? 8 : 2 + (next() % 8);
    const hexd = '0123456789abcdefABCDEF';
    for (let k = 0; k < groups; k++) {
      if (k) b += next() % 12 ? ':' : pick(['::', '::', ':::', '.']);
      const len = next() % 10 ? 1 + (next() % 4) : pick([0, 5]);
      for (let d = 0; d < len; d++) b += k === 0 && d === 0 ? pick(['2', '2', ':']) : pick(hexd);
    }
    v6s.push(next() % 4 ? b : `2600:1f18::${b}`);
  }
  // The IPv6 reader's edges: where `::` stands, how many groups, trailing colons.
  const edges = ['::', '::1', '1::', ':1', '1:', ':::', '1:::2', '1::2:', '1::2::', '::1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8',
    '1:2:3:4::5:6:7', '12345::', 'fFfF::AbCd', '2600:1f18:0:0:0:0:0:1', '2600:1f18::', ':', 'g::1'];
  let ok = 0;
  let ok6 = 0;
  for (const s of v4s.concat(v6s, edges)) {
    const fast = answer(() => f.contains(s));
    assert.deepEqual(fast, answer(() => f.__containsSlow(s)), s);
    const m = answer(() => f.lookup(s));
    assert.deepEqual(m, answer(() => f.__lookupSlow(s)), s);
    if (typeof fast === 'boolean') {
      ok++;
      if (s.includes(':')) ok6++;
    }
  }
  // Both valid and invalid forms of both families, and hits among the valid ones.
  assert.ok(ok > 2000 && ok < 10000 && ok6 > 600, `${ok} valid, ${ok6} IPv6`);
  assert.ok(v6s.some((s) => answer(() => f.contains(s)) === true));
  f.free();
});

test('lookup results are frozen and shared per prefix; a new fence starts afresh', () => {
  const f = IpFence.fromAwsJson(fs.readFileSync(u.AWS, 'utf8'));
  const a = f.lookup('3.5.140.2');
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.entries) && a.entries.every(Object.isFrozen));
  assert.equal(f.lookup('3.5.140.9'), a);
  assert.equal(f.lookupMany(['8.8.8.8', '3.5.141.1'])[1], a);
  assert.equal(f.lookupMany(new Uint32Array([u.v4Number('3.5.143.255')]))[0], a);
  assert.throws(() => { 'use strict'; a.prefix = 'x'; }, TypeError);
  const g = IpFence.fromBlob(f.toBlob());
  assert.notEqual(g.lookup('3.5.140.2'), a);
  assert.deepEqual(g.lookup('3.5.140.2'), a);
  f.free();
  assert.equal(g.lookup('3.5.140.2').prefix, '3.5.140.0/22');
  g.free();
});

test('a filter selects what the CLI selects', () => {
  const sub = ips.filter((_, i) => i % 3 === 0);
  const cases = [
    [{ services: ['API_GATEWAY'], family: 'ipv4' }, ['--service', 'API_GATEWAY', '--ipv4']],
    [{ regions: ['us-east-1', 'eu-west-1'] }, ['--region', 'us-east-1,eu-west-1']],
    [{ services: ['amazon'], excludeServices: ['EC2'] }, ['--service', 'AMAZON', '--exclude-service', 'EC2']],
    [{ family: 'ipv6' }, ['--ipv6']],
  ];
  for (const [filter, args] of cases) {
    const want = u.cliLookups(['--input', u.AWS, ...args], sub);
    const f = IpFence.fromAwsJson(awsText, filter);
    assert.deepEqual(f.lookupMany(sub), want.map((w) => w.match), JSON.stringify(filter));
    f.free();
  }
});

test('fromBlob of the compiled snapshot answers like fromAwsJson; toBlob round-trips', () => {
  const blob = u.awsBlob();
  const a = IpFence.fromBlob(blob);
  const b = IpFence.fromAwsJson(awsText);
  assert.deepEqual(a.lookupMany(ips), b.lookupMany(ips));
  const again = IpFence.fromBlob(b.toBlob());
  assert.deepEqual(again.lookupMany(ips.slice(0, 2000)), b.lookupMany(ips.slice(0, 2000)));
  const info = a.info();
  assert.equal(info.sources.length, 1);
  assert.equal(info.sources[0].createDate, awsDoc.createDate);
  assert.equal(info.sources[0].syncToken, awsDoc.syncToken);
  assert.equal(info.entryCount, awsDoc.prefixes.length + awsDoc.ipv6_prefixes.length);
  assert.equal(info.blobBytes, blob.length);
  for (const x of [a, b, again]) x.free();
});

test('select narrows a loaded blob like a filter at load time', () => {
  const all = IpFence.fromBlob(u.awsBlob());
  const s3 = all.select({ services: ['S3'], family: 'ipv4' });
  const direct = IpFence.fromAwsJson(awsText, { services: ['S3'], family: 'ipv4' });
  assert.deepEqual(s3.lookupMany(ips), direct.lookupMany(ips));
  assert.equal(s3.info().filter, 'service=S3 family=ipv4');
  const names = all.names();
  const services = [...new Set(awsDoc.prefixes.concat(awsDoc.ipv6_prefixes).map((p) => p.service))].sort();
  assert.deepEqual(names.services, services);
  for (const x of [all, s3, direct]) x.free();
});

test('exports equal the CLI export, for every format', () => {
  const f = IpFence.fromAwsJson(awsText, { services: ['S3'], family: 'ipv4' }, { name: u.AWS });
  for (const format of ['nftables', 'ipset', 'iptables', 'pf', 'aws-waf', 'aws-prefix-list', 'aws-security-group']) {
    const want = u.cli(['export', '--format', format, '--input', u.AWS, '--service', 'S3', '--ipv4']);
    const got = f.export(format, {});
    assert.equal(got.text, want, format);
    assert.ok(Array.isArray(got.notes));
  }
  // Ports go with the full style: the sets style holds no rule to restrict.
  const opts = { name: 'web', ports: [443, 80], protocol: 'tcp' };
  const want = u.cli(['export', '--format', 'nftables', '--input', u.AWS, '--service', 'S3', '--ipv4',
    '--name', 'web', '--ports', '443,80']);
  assert.equal(f.export('nftables', opts).text, want);
  f.free();
});

test('exportUpdate and diff between the consecutive 2026-08-22 snapshots', () => {
  const oldText = fs.readFileSync(u.AWS_OLDER, 'utf8');
  const older = IpFence.fromAwsJson(oldText);
  const newer = IpFence.fromAwsJson(awsText);
  const d = older.diff(newer);
  const want = JSON.parse(u.cli(['diff', '--json', u.AWS_OLDER, u.AWS]));
  // The CLI's diff --json names the provider once it carries it (issue 14); both are AWS.
  const shape = (l) => l.map((e) => ({ prefix: e.prefix, provider: e.provider ?? 'aws', service: e.service,
    region: e.region, networkBorderGroup: e.network_border_group }));
  assert.deepEqual(d.added, shape(want.added));
  assert.deepEqual(d.removed, shape(want.removed));
  assert.ok(d.added.some((e) => e.prefix === '1.178.86.0/24'));
  // The CLI's JSON counts are decimal strings for both families (docs/cli.md).
  assert.equal(String(d.addedAddresses.ipv4), want.addresses.ipv4_added);
  assert.equal(d.addedAddresses.ipv6, want.addresses.ipv6_added);
  assert.deepEqual(d.summary, want.summary.map((r) => ({ provider: r.provider ?? 'aws', service: r.service,
    region: r.region, added: r.added, removed: r.removed })));
  const up = newer.exportUpdate('nftables', older, { style: 'replace' });
  assert.match(up.text, /1\.178\.86\.0\/24/);
  const back = newer.diff(older);
  assert.deepEqual(back.removed, d.added);
  older.free();
  newer.free();
});

test('CloudFront and CIDR text lists', () => {
  const cf = fs.readFileSync(path.join(u.DATA, 'cloudfront', 'list-cloudfront-ips.json'), 'utf8');
  assert.equal(IpFence.detectFormat(cf), 'cloudfront');
  const f = IpFence.fromCloudFrontJson(cf, { services: ['CLOUDFRONT_GLOBAL_IP_LIST'] });
  const doc = JSON.parse(cf);
  const first = doc.CLOUDFRONT_GLOBAL_IP_LIST[0];
  const hit = f.lookup(first.split('/')[0]);
  assert.equal(hit.prefix, first);
  assert.equal(hit.entries[0].service, 'CLOUDFRONT_GLOBAL_IP_LIST');
  const text = fs.readFileSync(path.join(u.DATA, 'cloudflare', 'ips-v4'), 'utf8');
  assert.equal(IpFence.detectFormat(text), 'text');
  const t = IpFence.fromText(text);
  const auto = IpFence.fromSource(text);
  const cidrs = text.split('\n').filter((l) => l.trim());
  for (const c of cidrs) {
    assert.equal(t.lookup(c.split('/')[0]).prefix, c);
    assert.equal(auto.contains(c.split('/')[0]), true);
  }
  assert.equal(t.contains('8.8.8.8'), false);
  for (const x of [f, t, auto]) x.free();
});

test('every provider: Google lists, labels, providers filter, formats by name', () => {
  const g = (f) => fs.readFileSync(path.join(u.DATA, 'google', f), 'utf8');
  const formats = IpFence.sourceFormats();
  for (const name of ['aws', 'cloudfront', 'google', 'text']) assert.ok(formats.includes(name), name);
  // The crawler list does not say whose it is: it is refused without a label.
  const bot = g('googlebot.json');
  assert.equal(IpFence.detectFormat(bot), 'google');
  assert.throws(() => IpFence.fromSource(bot), { message: /^Google's prefix list .*: / });
  const f = IpFence.fromSource(bot, {}, { label: 'googlebot', name: 'googlebot.json' });
  const doc = JSON.parse(bot);
  const v4 = doc.prefixes.find((p) => p.ipv4Prefix).ipv4Prefix;
  assert.deepEqual(f.lookup(v4.split('/')[0]), {
    prefix: v4, entries: [{ provider: 'google', service: 'googlebot', region: '', extra: '' }],
  });
  assert.equal(f.info().sources[0].provider, 'google');
  assert.deepEqual(f.names().providers, ['google']);
  assert.throws(() => f.select({ providers: ['aws'] }), { message: /^unknown provider "aws": .*known: google/ });
  assert.equal(f.select({ providers: ['Google'], services: ['googlebot'] }).info().filter,
    'provider=Google service=googlebot');
  // cloud.json names itself; a format may be forced by name (any case, aliases too).
  const cloud = g('cloud.json');
  const c = IpFence.fromSource(cloud, { providers: ['google'], regions: ['africa-south1'] }, { format: 'GOOGLE' });
  const first = JSON.parse(cloud).prefixes[0];
  const hit = c.lookup(first.ipv4Prefix.split('/')[0]);
  assert.equal(hit.entries[0].provider, 'google');
  assert.equal(hit.entries[0].service, first.service);
  assert.equal(hit.entries[0].region, first.scope);
  assert.throws(() => IpFence.fromSource(cloud, {}, { format: 'xml' }), { message: /^options\.format: unknown source format "xml": .*\baws, / });
  assert.throws(() => IpFence.fromAwsJson(awsText, {}, { format: 'aws' }), { message: /^options\.format: / });
  // JSON of no known layout throws, never read as AWS.
  assert.throws(() => IpFence.detectFormat('{"prefixes": []}'), { message: /layout ipfence does not know \(supported: .*\baws, / });
  // A label names a CIDR list's provider; AWS keeps its own and its field names.
  const cl = fs.readFileSync(path.join(u.DATA, 'cloudflare', 'ips-v4'), 'utf8');
  const t = IpFence.fromText(cl, { providers: ['cloudflare'] }, { label: 'cloudflare' });
  assert.equal(t.lookup('104.16.0.1').entries[0].provider, 'cloudflare');
  assert.throws(() => IpFence.fromText(cl, {}, { label: 'Not A Name' }), { message: /^unknown source name "Not A Name"/ });
  const a = IpFence.fromAwsJson(awsText, { providers: ['aws'], extras: ['us-east-1'] });
  const east = awsDoc.prefixes.find((p) => p.network_border_group === 'us-east-1').ip_prefix;
  const e = a.lookup(east.split('/')[0]);
  assert.equal(a.info().filter, 'provider=aws border-group=us-east-1');
  assert.equal(e.entries[0].provider, 'aws');
  assert.equal(e.entries[0].networkBorderGroup, 'us-east-1');
  assert.equal(a.contains('3.5.140.2'), false); // ap-northeast-2
  for (const x of [f, c, t, a]) x.free();
});

test('errors are Errors with the core message: what, where, why', () => {
  const f = IpFence.fromAwsJson(awsText);
  assert.throws(() => f.contains('nope'), { name: 'Error', message: '"nope" is not an IPv4 or IPv6 address' });
  assert.throws(() => f.lookup('01.2.3.4'), { message: /"01\.2\.3\.4" is not an IPv4 or IPv6 address/ });
  assert.throws(() => f.lookupMany(['1.2.3.4', 'x']), { message: /^ips\[1\]: "x" is not an IPv4 or IPv6 address$/ });
  assert.throws(() => f.lookupMany('1.2.3.4'), { message: 'ips: expected an array of strings, a Uint32Array or a Uint8Array, got string' });
  assert.throws(() => f.containsMany(new Uint8Array(17)), { message: 'ips: a Uint8Array of IPv6 addresses needs 16 bytes per address, got 17 bytes' });
  assert.throws(() => f.lookupMany(new Uint8Array(15)), { message: /needs 16 bytes per address, got 15 bytes/ });
  assert.throws(() => f.containsMany([1]), { message: 'ips[0]: expected a string, got number' });
  assert.throws(() => IpFence.fromAwsJson('{"prefixes": [', {}), { message: /^ip-ranges\.json: line 1, column \d+: / });
  const bad = awsText.replace('"ip_prefix": "3.', '"ip_prefix": "3.5.140.1/22", "x": "');
  assert.throws(() => IpFence.fromAwsJson(bad, {}, { name: 'mine.json' }), { message: /^mine\.json: / });
  assert.throws(() => IpFence.fromText('10.0.0.1/8\n'), { message: /CIDR list: line 1.*"10\.0\.0\.1\/8" has host bits set/ });
  assert.equal(IpFence.fromText('10.0.0.1/8\n', {}, { maskHostBits: true }).lookup('10.9.9.9').prefix, '10.0.0.0/8');
  assert.throws(() => IpFence.fromAwsJson(awsText, { services: ['NOPE'] }), { message: /"NOPE"/ });
  assert.throws(() => IpFence.fromAwsJson(awsText, { service: ['S3'] }), { message: /^filter: unknown key "service" \(expected providers, services, / });
  assert.throws(() => IpFence.fromAwsJson(awsText, { family: 'v5' }), { message: /^filter\.family: "v5" is not "ipv4" or "ipv6"/ });
  assert.throws(() => IpFence.fromAwsJson(awsText, { services: [3] }), { message: 'filter.services[0]: expected a string, got number' });
  assert.throws(() => IpFence.fromAwsJson(awsText, 'S3'), { message: 'filter: expected an object, got string' });
  assert.throws(() => f.export('nftable'), { message: /nftable/ });
  assert.throws(() => f.export('nftables', { name: 'bad name;' }), { message: /^nftables: name "bad name;"/ });
  assert.throws(() => f.export('nftables', { ports: [70000] }), { message: 'options.ports[0]: 70000 is not a whole number from 0 to 65535' });
  const blob = f.toBlob();
  assert.throws(() => IpFence.fromBlob(blob.subarray(0, blob.length - 7)), { message: /^blob: offset \d+: / });
  assert.throws(() => IpFence.fromBlob(new Uint8Array(3)), { message: /^blob: offset \d+: header needs \d+ bytes, 3 given/ });
  // After every error the module still answers.
  assert.equal(f.contains('3.5.140.2'), true);
  f.free();
});

test('no input bytes make it panic: random and mutated blobs and sources only throw Errors', () => {
  const next = u.rng(99);
  const good = IpFence.fromAwsJson(awsText, { services: ['S3'] }).toBlob();
  for (let i = 0; i < 300; i++) {
    const b = Uint8Array.from(good);
    for (let k = 0; k < 1 + (next() % 8); k++) b[next() % b.length] = next() & 255;
    try { IpFence.fromBlob(b).free(); } catch (e) { assert.ok(e instanceof Error && e.message.startsWith('blob: ')); }
    const cut = good.subarray(0, next() % good.length);
    assert.throws(() => IpFence.fromBlob(cut), Error);
    const s = awsText.slice(0, 2000 + (next() % 3000));
    assert.throws(() => IpFence.fromAwsJson(s), Error);
  }
  assert.equal(IpFence.fromBlob(good).contains('52.95.128.1') !== undefined, true);
});
