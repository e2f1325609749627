// The generated TypeScript declarations compile against a typed use of the whole API.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const u = require('./util');

test('the .d.ts types the documented API (tsc --strict)', () => {
  const tsc = path.join(u.WASM, 'node_modules', '.bin', 'tsc');
  const r = spawnSync(tsc, ['--strict', '--noEmit', '--target', 'es2022', '--lib', 'esnext', '--module', 'commonjs',
    '--moduleResolution', 'node', '--skipLibCheck', 'false', path.join(__dirname, 'types', 'check.ts')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
