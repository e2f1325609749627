// The example edge worker (wasm/examples/edge-worker) in workerd, Cloudflare's open-source
// Workers runtime, started here on 127.0.0.1: answers compared with the CLI's, batches,
// the 403 gate, and 400 with a message on bad input.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const u = require('./util');

const DIR = path.join(u.WASM, 'examples', 'edge-worker');
const WORKERD = path.join(u.WASM, 'node_modules', '.bin', 'workerd');

async function waitUp(base, proc, log) {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`workerd exited ${proc.exitCode}: ${log.join('')}`);
    try {
      await fetch(base + '/info');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`workerd did not answer: ${log.join('')}`);
}

test('the edge worker answers in workerd', { timeout: 120000 }, async () => {
  const port = await u.freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const proc = spawn(WORKERD, ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`],
    { cwd: DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => log.push(String(d)));
  proc.stderr.on('data', (d) => log.push(String(d)));
  try {
    await waitUp(base, proc, log);
    const awsText = fs.readFileSync(u.AWS, 'utf8');
    const ips = u.sampleAddresses(awsText, 2000, 3);
    const want = u.cliLookups([], ips);

    // GET, one by one (a sample), and POST, the whole batch.
    for (let i = 0; i < ips.length; i += 10) {
      const r = await fetch(`${base}/check?ip=${encodeURIComponent(ips[i])}`);
      assert.equal(r.status, 200);
      const body = await r.json();
      assert.deepEqual(body, { ip: ips[i], allowed: want[i].match !== null, match: want[i].match });
    }
    const post = await fetch(`${base}/check`, { method: 'POST', body: JSON.stringify({ ips }) });
    assert.equal(post.status, 200);
    const { results } = await post.json();
    assert.deepEqual(results.map((x) => x.match), want.map((w) => w.match));
    assert.ok(results.some((x) => x.allowed) && results.some((x) => !x.allowed));

    // Which data: the embedded snapshot's stamps.
    const info = await (await fetch(`${base}/info`)).json();
    assert.equal(info.sources[0].createDate, JSON.parse(awsText).createDate);

    // Bad input: 400 with a message.
    let r = await fetch(`${base}/check?ip=not-an-ip`);
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), { error: '"not-an-ip" is not an IPv4 or IPv6 address' });
    r = await fetch(`${base}/check`);
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /"ip" is missing/);
    r = await fetch(`${base}/check`, { method: 'POST', body: '["1.2.3.4", "x"]' });
    assert.equal(r.status, 400);
    assert.equal((await r.json()).error, 'ips[1]: "x" is not an IPv4 or IPv6 address');
    r = await fetch(`${base}/check`, { method: 'POST', body: '{oops' });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /^request body: not JSON/);

    // The gate: the client address header decides.
    const inside = ips[want.findIndex((w) => w.match)];
    const outside = ips[want.findIndex((w) => !w.match)];
    r = await fetch(`${base}/app`, { headers: { 'cf-connecting-ip': inside } });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).allowed, true);
    r = await fetch(`${base}/app`, { headers: { 'cf-connecting-ip': outside } });
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error, `forbidden: ${outside} is not in the allowlist`);
    r = await fetch(`${base}/app`);
    assert.equal(r.status, 403);
    r = await fetch(`${base}/app`, { headers: { 'cf-connecting-ip': 'garbage' } });
    assert.equal(r.status, 403);

  } finally {
    proc.kill('SIGTERM');
    // SIGKILL if it has not stopped after 5 s: never leave a server behind.
    const stuck = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await new Promise((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.on('exit', resolve)));
    clearTimeout(stuck);
  }
  fs.writeFileSync(path.join(u.outDir('worker'), 'workerd.log'), log.join(''));
});

/** Runs `fn(base)` against workerd serving the example worker on a free port. */
async function withWorkerd(name, fn) {
  const port = await u.freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const proc = spawn(WORKERD, ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`],
    { cwd: DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => log.push(String(d)));
  proc.stderr.on('data', (d) => log.push(String(d)));
  try {
    await waitUp(base, proc, log);
    await fn(base);
  } finally {
    proc.kill('SIGTERM');
    const stuck = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await new Promise((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve() : proc.on('exit', resolve)));
    clearTimeout(stuck);
    fs.writeFileSync(path.join(u.outDir('worker'), `${name}.log`), log.join(''));
  }
}

test('the edge worker gates crawler claims in workerd', { timeout: 120000 }, async () => {
  await withWorkerd('workerd-bots', async (base) => {
      // The crawler gate (BOT_GATE = "block"), with real user-agent strings: Googlebot from
      // an address of Google's real googlebot.json (in the blob) passes, from an AWS address
      // it is fake and gets 403; GPTBot's list is not in the blob: unverifiable, never fake.
      let r;
      const googlebot = 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
      const gptbot = 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.1; +https://openai.com/gptbot';
      const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
      r = await fetch(`${base}/app`, { headers: { 'cf-connecting-ip': '66.249.79.70', 'user-agent': googlebot } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-ipfence-bot'), 'genuine; crawler=Googlebot');
      r = await fetch(`${base}/app`, { headers: { 'cf-connecting-ip': '2001:4860:4801:10::9', 'user-agent': googlebot.toUpperCase() } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-ipfence-bot'), 'genuine; crawler=Googlebot');
      r = await fetch(`${base}/app`, { headers: { 'cf-connecting-ip': '3.5.140.2', 'user-agent': googlebot } });
      assert.equal(r.status, 403);
      assert.match((await r.json()).error, /^forbidden: fake Googlebot: claims Google's Googlebot from an address in none of its lists/);
      assert.equal(r.headers.get('x-ipfence-bot'), 'fake; crawler=Googlebot');
      r = await fetch(`${base}/app`, { headers: { 'cf-connecting-ip': '3.5.140.2', 'user-agent': gptbot } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-ipfence-bot'), 'unverifiable; crawler=GPTBot');
      r = await fetch(`${base}/app`, { headers: { 'cf-connecting-ip': '3.5.140.2', 'user-agent': firefox } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-ipfence-bot'), null);
  });
});

test("README's edge-worker excerpt is the worker's own code", () => {
  // Every line of the ```js block in README.md's edge-worker section is a line of
  // worker.js, so the front door shows what the workerd tests above run.
  const readme = fs.readFileSync(path.join(u.ROOT, 'README.md'), 'utf8');
  const section = readme.split('### Gate requests and crawlers in an edge worker')[1];
  assert.ok(section, 'README.md has the edge-worker section');
  const block = section.split('```js\n')[1].split('```')[0];
  const worker = new Set(
    fs.readFileSync(path.join(u.WASM, 'examples', 'edge-worker', 'worker.js'), 'utf8').split('\n').map((l) => l.trim()),
  );
  const lines = block.split('\n').map((l) => l.trim()).filter(Boolean);
  assert.ok(lines.some((l) => l.includes('verifyBot')));
  for (const l of lines) assert.ok(worker.has(l), `README.md line not in worker.js: ${l}`);
});
