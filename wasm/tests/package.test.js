// The npm package as a user gets it: `npm pack` of wasm/pkg, installed from the tarball
// into an empty project (no registry), then both entry points required by name.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const u = require('./util');

test('the packed package installs and both entry points load', { timeout: 120000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipfence-pkg-'));
  try {
    const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const tarball = npm(['pack', '--pack-destination', dir, path.join(u.WASM, 'pkg')], dir).trim().split('\n').pop();
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "user", "private": true}');
    npm(['install', path.join(dir, tarball)], dir);
    const script = `
      const full = require('ipfence-wasm');
      const lite = require('ipfence-wasm/lite');
      const blob = require('node:fs').readFileSync(process.argv[1]);
      const f = lite.IpFence.fromBlob(blob);
      console.log(JSON.stringify({
        full: typeof full.IpFence.fromAwsJson,
        lite: typeof lite.IpFence.fromAwsJson,
        hit: f.lookup('3.5.140.2'),
        miss: f.contains('192.0.2.1'),
      }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script, path.join(u.WASM, 'www', 'aws.ipfence')],
      { cwd: dir, encoding: 'utf8' }));
    assert.equal(out.full, 'function');
    assert.equal(out.lite, 'undefined');
    assert.equal(out.hit.prefix, '3.5.140.0/22');
    assert.equal(out.miss, false);
    for (const f of ['web/ipfence_wasm_bg.wasm', 'lite/web/ipfence_wasm_bg.wasm', 'lite/web/ipfence_wasm.d.ts', 'README.md']) {
      assert.ok(fs.existsSync(path.join(dir, 'node_modules', 'ipfence-wasm', f)), f);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
