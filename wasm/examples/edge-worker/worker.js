// An edge worker (Cloudflare Workers / workerd) answering allowlist questions from the
// compiled blob embedded in the worker: no fetch of ip-ranges.json at request time, and
// a start-up of well under a millisecond (IpFence.fromBlob).
//
//   GET  /check?ip=3.5.140.2          -> 200 {"ip","allowed","match"}   (400 on a bad ip)
//   POST /check  ["1.2.3.4", ...] or {"ips": [...]}  -> 200 {"results": [...]}
//   anything else, when GATE = "on":  the client address (header CLIENT_IP_HEADER,
//   default cf-connecting-ip) must be in the allowlist: 200 if so, 403 otherwise.
//
//   crawler gate, when BOT_GATE is "block" or "header": a request whose User-Agent claims
//   a known crawler (Googlebot, bingbot, GPTBot, ...) is checked against that crawler's
//   published lists in the blob (IpFence.verifyBot). "block": a fake claim gets 403;
//   "header": it passes. Either way responses say the verdict in `x-ipfence-bot`
//   (`genuine; crawler=Googlebot`, `fake; ...`, `unverifiable; ...`: a crawler whose list
//   is not in the blob is never called fake).
//
// Bindings (all optional text): GATE ("on"), BOT_GATE ("block", "header"), CLIENT_IP_HEADER,
// SERVICES (comma-separated filter applied at start-up, e.g. "CLOUDFRONT"), MAX_BATCH
// (default 10000).
import { initSync, IpFence } from './pkg/ipfence_wasm.js';
import wasmModule from './pkg/ipfence_wasm_bg.wasm';
import blob from './aws.ipfence';

initSync({ module: wasmModule });
const all = IpFence.fromBlob(new Uint8Array(blob));
let selected = null;
let selectedFor = null;

function fence(env) {
  const services = (env.SERVICES || '').split(',').map((s) => s.trim()).filter(Boolean);
  if (services.length === 0) return all;
  if (selectedFor !== env.SERVICES) {
    selected = all.select({ services });
    selectedFor = env.SERVICES;
  }
  return selected;
}

function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });
}

function answer(f, ip) {
  const match = f.lookup(ip);
  return { ip, allowed: match !== null, match };
}

async function check(request, f, env) {
  const url = new URL(request.url);
  if (request.method === 'GET') {
    const ip = url.searchParams.get('ip');
    if (ip === null) return json(400, { error: 'query parameter "ip" is missing: /check?ip=ADDRESS' });
    try {
      return json(200, answer(f, ip));
    } catch (e) {
      return json(400, { error: e.message });
    }
  }
  if (request.method === 'POST') {
    let body;
    try {
      body = await request.json();
    } catch (e) {
      return json(400, { error: `request body: not JSON (${e.message})` });
    }
    const ips = Array.isArray(body) ? body : body && body.ips;
    if (!Array.isArray(ips)) return json(400, { error: 'request body: expected an array of addresses or {"ips": [...]}' });
    const max = Number(env.MAX_BATCH || 10000);
    if (ips.length > max) return json(413, { error: `request body: ${ips.length} addresses, at most ${max} per request` });
    try {
      const matches = f.lookupMany(ips);
      return json(200, { results: ips.map((ip, i) => ({ ip, allowed: matches[i] !== null, match: matches[i] })) });
    } catch (e) {
      return json(400, { error: e.message });
    }
  }
  return json(405, { error: `method ${request.method} not allowed: use GET or POST` });
}

function gate(request, f, env) {
  const header = (env.CLIENT_IP_HEADER || 'cf-connecting-ip').toLowerCase();
  const ip = request.headers.get(header);
  if (ip === null) return json(403, { error: `forbidden: no ${header} header` });
  let match;
  try {
    match = f.lookup(ip);
  } catch (e) {
    return json(403, { error: `forbidden: ${header}: ${e.message}` });
  }
  if (match === null) return json(403, { error: `forbidden: ${ip} is not in the allowlist` });
  // A real gate would now pass the request on: `return fetch(request)`.
  return json(200, { ip, allowed: true, match });
}

/** The crawler verdict of a request (null: no crawler claimed, or no address to check). */
function bot(request, env) {
  const ua = request.headers.get('user-agent');
  const ip = request.headers.get((env.CLIENT_IP_HEADER || 'cf-connecting-ip').toLowerCase());
  if (ua === null || ip === null) return null;
  try {
    // The whole blob, not the SERVICES selection: the crawler lists are in it.
    const verdict = all.verifyBot(ua, ip);
    return verdict.verdict === 'none' ? null : verdict;
  } catch {
    return null; // not an address: the allowlist gate answers that
  }
}

async function route(request, f, env, verdict) {
  const url = new URL(request.url);
  if (verdict !== null && verdict.verdict === 'fake' && env.BOT_GATE === 'block') {
    return json(403, { error: `forbidden: ${verdict.message}` });
  }
  if (url.pathname === '/check') return check(request, f, env);
  if (url.pathname === '/info') return json(200, f.info());
  if (env.GATE === 'on') return gate(request, f, env);
  return json(404, { error: `no route ${url.pathname}: try /check?ip=ADDRESS` });
}

export default {
  async fetch(request, env) {
    const f = fence(env);
    const gated = env.BOT_GATE === 'block' || env.BOT_GATE === 'header';
    const verdict = gated ? bot(request, env) : null;
    const response = await route(request, f, env, verdict);
    if (verdict !== null) {
      response.headers.set('x-ipfence-bot', `${verdict.verdict}; crawler=${verdict.crawler}`);
    }
    return response;
  },
};
