// The allowlist checker page (wasm/www) in real headless Chromium, served from 127.0.0.1
// by this test: load, a known AWS address and a non-AWS one (answers compared with the
// CLI), a pasted custom list, an nftables download, a screenshot, no foreign requests.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const u = require('./util');

const WWW = path.join(u.WASM, 'www');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.ipfence': 'application/octet-stream', '.json': 'application/json', '.ts': 'text/plain' };
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function serve(root, log) {
  const server = http.createServer((req, res) => {
    log.push(req.url);
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(root, rel === '/' ? 'index.html' : rel);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function rows(page) {
  return page.$$eval('#results tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
}

test('the checker page works in headless Chromium, offline', { timeout: 120000 }, async () => {
  const { chromium } = require('playwright-core');
  const out = u.outDir('browser');
  const log = [];
  const server = await serve(WWW, log);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ipfence-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = browser.pages()[0] || await browser.newPage();
    const foreign = [];
    const errors = [];
    page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url()); });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(origin + '/');
    await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });

    const awsDoc = JSON.parse(fs.readFileSync(u.AWS, 'utf8'));
    const info = await page.textContent('#data-info');
    assert.ok(info.includes(`createDate ${awsDoc.createDate}`), info);
    assert.ok(info.includes(`syncToken ${awsDoc.syncToken}`), info);

    // The crawler check, with a real Googlebot user agent: from Google's real
    // googlebot.json (in the embedded data), and from an AWS address.
    const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    await page.fill('#bot-ua', googlebot);
    await page.fill('#bot-ip', '66.249.79.70');
    await page.click('#bot-check');
    assert.equal(await page.textContent('#bot-info'), 'genuine: genuine Googlebot (Google): 66.249.79.64/27 in googlebot.json');
    await page.fill('#bot-ip', '3.5.140.2');
    await page.click('#bot-check');
    assert.match(await page.textContent('#bot-info'), /^fake: fake Googlebot: claims Google's Googlebot from an address in none of its lists/);
    await page.fill('#bot-ua', 'GPTBot/1.1');
    await page.click('#bot-check');
    assert.match(await page.textContent('#bot-info'), /^unverifiable: claims GPTBot \(OpenAI\), which ipfence cannot verify/);
    await page.fill('#bot-ip', 'nope');
    await page.click('#bot-check');
    assert.equal(await page.textContent('#bot-info'), '"nope" is not an IPv4 or IPv6 address');

    // A listed address and one no provider lists, against the CLI's answers.
    const ips = ['3.5.140.2', '192.0.2.1', '2600:1f18::1', 'not-an-ip'];
    const want = u.cliLookups([], ips.slice(0, 3));
    await page.fill('#ips', ips.join('\n'));
    await page.click('#check');
    const got = await rows(page);
    assert.equal(got.length, 4);
    for (let i = 0; i < 3; i++) {
      const w = want[i].match;
      assert.equal(got[i][0], ips[i]);
      assert.equal(got[i][1], w ? 'yes' : 'no', ips[i]);
      if (w) {
        assert.equal(got[i][2], w.prefix);
        assert.equal(got[i][3], w.entries.map((e) => e.provider).join(', '));
        // The page shows an empty tag as a dash.
        assert.equal(got[i][4], w.entries.map((e) => e.service || '—').join(', '));
        assert.equal(got[i][5], w.entries.map((e) => e.region || '—').join(', '));
      }
    }
    assert.equal(want[0].match !== null && want[1].match === null, true, 'one listed address, one not');
    assert.equal(got[3][1], 'invalid');
    assert.match(got[3][2], /"not-an-ip" is not an IPv4 or IPv6 address/);

    // Keyboard: select a service with the keyboard and check again.
    await page.focus('#family');
    await page.selectOption('#family', 'ipv4');
    await page.waitForFunction(() => document.querySelector('#filter-info').textContent.includes('family=ipv4'));

    // A pasted custom list.
    await page.fill('#source-text', '# my list\n192.0.2.0/24\n198.51.100.7\n2001:db8::/32\n');
    await page.click('#use-pasted');
    await page.waitForFunction(() => document.querySelector('#data-info').textContent.includes('pasted list'));
    await page.selectOption('#family', '');
    await page.waitForFunction(() => document.querySelector('#filter-info').textContent.includes('everything'));
    await page.fill('#ips', '192.0.2.55, 198.51.100.7 198.51.100.8\n2001:db8::42\n3.5.140.2');
    await page.click('#check');
    const mine = await rows(page);
    assert.deepEqual(mine.map((r) => [r[0], r[1], r[2]]), [
      ['192.0.2.55', 'yes', '192.0.2.0/24'], ['198.51.100.7', 'yes', '198.51.100.7/32'],
      ['198.51.100.8', 'no', '—'], ['2001:db8::42', 'yes', '2001:db8::/32'], ['3.5.140.2', 'no', '—'],
    ]);

    // Download the nftables export of the pasted list and check its content.
    await page.selectOption('#format', 'nftables');
    await page.fill('#export-name', 'mylist');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = path.join(out, download.suggestedFilename());
    await download.saveAs(file);
    const nft = fs.readFileSync(file, 'utf8');
    assert.match(nft, /table inet mylist/);
    assert.match(nft, /192\.0\.2\.0\/24/);
    assert.match(nft, /198\.51\.100\.7/);
    assert.match(nft, /2001:db8::\/32/);
    assert.match(nft, /# source: pasted list \(text\)/);
    assert.doesNotMatch(nft, /3\.5\.140\.0/);

    await page.screenshot({ path: path.join(out, 'page.png'), fullPage: true });
    assert.deepEqual(foreign, [], 'requests outside the page origin');
    assert.deepEqual(errors, []);
    assert.ok(log.includes('/aws.ipfence') && log.some((l) => l.endsWith('.wasm')), log.join(' '));
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
