// The generated TypeScript declarations compile against a typed use of the whole API.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const u = require('./util');

function tsc(file) {
  const bin = path.join(u.WASM, 'node_modules', '.bin', 'tsc');
  const r = spawnSync(bin, ['--strict', '--noEmit', '--target', 'es2022', '--lib', 'esnext', '--module', 'commonjs',
    '--moduleResolution', 'node', '--skipLibCheck', 'false', path.join(__dirname, 'types', file)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

test('the .d.ts types the documented API (tsc --strict)', () => tsc('check.ts'));

test('the lite .d.ts types the lite API and leaves out the rest (tsc --strict)', () => tsc('lite.ts'));
