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
