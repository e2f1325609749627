// A panic inside the module (a bug) reaches JS as an Error saying so, not as a bare
// WebAssembly.RuntimeError. Its own file: node --test runs each file in its own process,
// and a module that trapped must be reloaded.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const u = require('./util');

const { IpFence } = u.pkgNode();

test('a panic is reported as an ipfence bug', () => {
  assert.throws(() => IpFence.__panicForTest(), (e) => {
    assert.ok(e instanceof Error);
    assert.ok(!(e instanceof WebAssembly.RuntimeError), 'still a bare trap');
    assert.match(e.message, /^ipfence-wasm: internal error \(a bug, please report it\); the module must be reloaded: /);
    assert.ok(e.cause instanceof WebAssembly.RuntimeError);
    return true;
  });
});

test('errors on input stay the core\'s Errors', () => {
  assert.throws(() => IpFence.fromBlob(new Uint8Array(3)), (e) => {
    assert.ok(!(e instanceof WebAssembly.RuntimeError));
    assert.match(e.message, /^blob: offset \d+: /);
    return true;
  });
});
