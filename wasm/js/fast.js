
// ---- ipfence-wasm fast paths (wasm/js/fast.js, appended by scripts/build-wasm) ----
// The methods below replace the generated `contains`, `lookup`, `containsMany` and
// `lookupMany` with the same API and results, minus most of the crossing cost: a
// dotted-quad IPv4 address is read here into a number, any other address is written as
// ASCII into a fixed scratch buffer in wasm memory (no malloc, no TextEncoder), the call
// takes and returns numbers, and a lookup returns a prefix id that maps to the result
// object made the first time (wasm/src/fast.rs). Anything the
// fast path does not take (not a string, too long, not ASCII, not an address, a freed
// fence) goes to the generated method, which answers or throws the core's message.
// Plain script: no import/export, so the same text works appended to the ES module
// (--target web) and to the CommonJS file (--target nodejs); `wasm` and `IpFence` are
// that file's own bindings.
const __ipf = { u8: new Uint8Array(0), at: 0 };

/**
 * A dotted-quad IPv4 address as its 32-bit number, or -1 for anything else (which then
 * takes the scratch path, where the Rust reader decides). Accepts exactly what the Rust
 * reader accepts as IPv4 (decimal octets up to 255, no leading zeros): tests check it.
 */
function __ipfV4(s) {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let acc = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      acc = (acc << 8) | octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      const d = c - 48;
      // Not a digit, a fourth digit, or a digit after a leading zero.
      if (d < 0 || d > 9 || digits === 3 || (digits > 0 && octet === 0)) return -1;
      octet = octet * 10 + d;
      if (octet > 255) return -1;
      digits++;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return ((acc << 8) | octet) >>> 0;
}

/** The four 32-bit words (most significant first) of the last address `__ipfV6` read. */
const __ipfW = new Uint32Array(4);
const __ipfG = new Uint32Array(8);
/** Hex digit values by character code (-1: not a hex digit). */
const __ipfHex = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) __ipfHex[48 + c] = c;
for (let c = 0; c < 6; c++) __ipfHex[97 + c] = __ipfHex[65 + c] = 10 + c;

/**
 * Reads plain IPv6 (hex groups of one to four digits, at most one `::` standing for at
 * least one zero group, no IPv4 tail) into `__ipfW`; false for anything else, which then
 * takes the scratch path. Accepts what the Rust reader (wasm/src/fast.rs `v6_text`)
 * accepts: tests check it. One pass, digits from a table: about 2x faster than a loop
 * per group with range tests (scripts/bench-wasm, IPv6 per-call rows).
 */
function __ipfV6(s) {
  const len = s.length;
  if (len < 2 || len > 39) return false;
  const g = __ipfG;
  const hex = __ipfHex;
  let n = 0; // groups read
  let gap = -1; // groups before `::`, or -1
  let gapEnd = -1; // index of the second colon of `::`
  let v = 0;
  let d = 0; // digits of the group being read
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    gapEnd = 1;
    i = 2;
  }
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) {
      if (d !== 0) {
        if (n === 8) return false;
        g[n++] = v;
        v = 0;
        d = 0;
      } else {
        // A colon right after a colon: `::` (only one, and not `:::`).
        if (gap >= 0) return false;
        gap = n;
        gapEnd = i;
      }
    } else {
      const h = c < 128 ? hex[c] : -1;
      if (h < 0 || d === 4) return false;
      v = (v << 4) | h;
      d++;
    }
  }
  if (d !== 0) {
    if (n === 8) return false;
    g[n++] = v;
  } else if (gapEnd !== len - 1) {
    return false; // ends in a single colon
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    if (n === 8) return false;
    // Move the groups after `::` to the end and zero the ones it stands for.
    const tail = n - gap;
    for (let k = 1; k <= tail; k++) g[8 - k] = g[n - k];
    for (let k = gap; k < 8 - tail; k++) g[k] = 0;
  }
  const w = __ipfW;
  w[0] = (g[0] << 16) | g[1];
  w[1] = (g[2] << 16) | g[3];
  w[2] = (g[4] << 16) | g[5];
  w[3] = (g[6] << 16) | g[7];
  return true;
}

/** Writes the string `ip` into the scratch buffer: its length, or -1 when the fast path cannot take it. */
function __ipfPut(ip) {
  const n = ip.length;
  if (n > 64) return -1;
  let u8 = __ipf.u8;
  // A grown wasm memory detaches the old buffer: its views read as empty.
  if (u8.byteLength === 0) {
    u8 = __ipf.u8 = new Uint8Array(wasm.memory.buffer);
    __ipf.at = IpFence.__scratch();
  }
  const at = __ipf.at;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c > 127) return -1;
    u8[at + i] = c;
  }
  return n;
}

/** The result object of prefix id `id` of fence `f` (0: null), made once per id. */
function __ipfResult(f, id) {
  let c = f.__ipfResults;
  if (c === undefined) c = f.__ipfResults = [null];
  let o = c[id];
  if (o === undefined) {
    // Grow one slot at a time so the array stays dense (fast element access).
    while (c.length <= id) c.push(undefined);
    o = c[id] = f.__result(id);
  }
  return o;
}

const __ipfContains = IpFence.prototype.contains;
const __ipfLookup = IpFence.prototype.lookup;
// The generated (Rust-parsing) methods, kept reachable for the tests that check the fast
// readers above against them.
IpFence.prototype.__containsSlow = __ipfContains;
IpFence.prototype.__lookupSlow = __ipfLookup;
const __ipfContainsMany = IpFence.prototype.containsMany;
const __ipfLookupMany = IpFence.prototype.lookupMany;

/** 1, 0, or -1 when `ip` is not an address the fast path takes. */
function __ipfContainsOne(ptr, ip) {
  if (typeof ip !== 'string') return -1;
  const v4 = __ipfV4(ip);
  if (v4 >= 0) return wasm.ipfence___containsV4One(ptr, v4);
  if (__ipfV6(ip)) {
    const w = __ipfW;
    return wasm.ipfence___containsV6One(ptr, w[0], w[1], w[2], w[3]);
  }
  // Other forms (rare: `::ffff:a.b.c.d`, embedded IPv4) go through the lookup's
  // parser in wasm: one copy of it in the .wasm instead of two.
  const n = __ipfPut(ip);
  if (n < 0) return -1;
  const id = wasm.ipfence___lookupAt(ptr, n);
  // 0xffffffff (not an address) arrives as -1.
  return id < 0 ? -1 : id === 0 ? 0 : 1;
}

/** The prefix id of `ip`'s longest match (0: none), or -1 when the fast path cannot say. */
function __ipfLookupOne(ptr, ip) {
  if (typeof ip !== 'string') return -1;
  const v4 = __ipfV4(ip);
  if (v4 >= 0) return wasm.ipfence___lookupV4One(ptr, v4);
  if (__ipfV6(ip)) {
    const w = __ipfW;
    return wasm.ipfence___lookupV6One(ptr, w[0], w[1], w[2], w[3]);
  }
  const n = __ipfPut(ip);
  // 0xffffffff (not an address) arrives as -1.
  return n >= 0 ? wasm.ipfence___lookupAt(ptr, n) : -1;
}

IpFence.prototype.contains = function contains(ip) {
  const ptr = this.__wbg_ptr;
  if (ptr !== 0) {
    const r = __ipfContainsOne(ptr, ip);
    if (r === 1) return true;
    if (r === 0) return false;
  }
  return __ipfContains.call(this, ip);
};

IpFence.prototype.lookup = function lookup(ip) {
  const ptr = this.__wbg_ptr;
  if (ptr !== 0) {
    const id = __ipfLookupOne(ptr, ip);
    if (id >= 0) return __ipfResult(this, id);
  }
  return __ipfLookup.call(this, ip);
};

IpFence.prototype.containsMany = function containsMany(ips) {
  if (this.__wbg_ptr !== 0) {
    if (ips instanceof Uint32Array) return this.__containsV4(ips);
    if (ips instanceof Uint8Array) return this.__containsV6(ips);
    if (Array.isArray(ips)) {
      const out = new Uint8Array(ips.length);
      let i = 0;
      for (; i < ips.length; i++) {
        const r = __ipfContainsOne(this.__wbg_ptr, ips[i]);
        if (r < 0) break;
        out[i] = r;
      }
      if (i === ips.length) return out;
    }
  }
  return __ipfContainsMany.call(this, ips);
};

IpFence.prototype.lookupMany = function lookupMany(ips) {
  if (this.__wbg_ptr !== 0) {
    let ids = null;
    if (ips instanceof Uint32Array) ids = this.__lookupV4(ips);
    else if (ips instanceof Uint8Array) ids = this.__lookupV6(ips);
    else if (Array.isArray(ips)) {
      ids = new Uint32Array(ips.length);
      for (let i = 0; i < ips.length; i++) {
        const id = __ipfLookupOne(this.__wbg_ptr, ips[i]);
        if (id < 0) {
          ids = null;
          break;
        }
        ids[i] = id;
      }
    }
    if (ids !== null) {
      const n = ids.length;
      const out = new Array(n);
      let c = this.__ipfResults;
      if (c === undefined) c = this.__ipfResults = [null];
      for (let i = 0; i < n; i++) {
        const id = ids[i];
        const o = c[id];
        out[i] = o !== undefined ? o : __ipfResult(this, id);
      }
      return out;
    }
  }
  return __ipfLookupMany.call(this, ips);
};

// verifyBot: `TextEncoder.encodeInto` writes the user agent into the user-agent scratch
// buffer (wasm/src/fast.rs) and the core samples it for the crawlers it claims (about
// 0.1 µs for 200 bytes in node). The last user agent's claims are kept, as a crawler's
// requests repeat theirs; a Map of many costs each new user agent 80 to 100 ns (hashing
// it, `set`, keeping the Map bounded), about what the scan it saves costs
// (docs/performance.md, issue 17). The address is looked up as `lookup` does, and its
// prefix id and the claims give the verdict code (wasm/src/bots.rs); each distinct
// verdict is one frozen object per fence.
const __ipfVerifyBot = IpFence.prototype.verifyBot;
const __ipfEnc = new TextEncoder();
// The scratch buffer's view (UA_SCRATCH_LEN bytes): empty until first used, and again
// when a memory growth detaches it; the last user agent and its claims.
const __ipfUa = { view: new Uint8Array(0), last: null, claims: 0 };
function __ipfClaims(ua) {
  const s = __ipfUa;
  if (ua === s.last) return s.claims;
  let view = s.view;
  if (view.byteLength === 0) {
    view = s.view = new Uint8Array(wasm.memory.buffer, IpFence.__uaScratch(), 512);
  }
  const r = __ipfEnc.encodeInto(ua, view);
  // Longer than the buffer: the string crossing, scanned a part at a time.
  const c = r.read === ua.length ? wasm.ipfence___claimsAt(r.written) >>> 0 : IpFence.__claims(ua);
  s.last = ua;
  s.claims = c;
  return c;
}
IpFence.prototype.verifyBot = function verifyBot(ua, ip) {
  const ptr = this.__wbg_ptr;
  if (ptr !== 0 && typeof ua === 'string') {
    const id = __ipfLookupOne(ptr, ip);
    if (id >= 0) {
      const claims = __ipfClaims(ua);
      const code = claims === 0 ? 0 : wasm.ipfence___verifyId(ptr, claims, id);
      let c = this.__ipfBots;
      if (c === undefined) c = this.__ipfBots = new Map();
      let o = c.get(code);
      if (o === undefined) {
        o = this.__verdict(code);
        c.set(code, o);
      }
      return o;
    }
  }
  return __ipfVerifyBot.call(this, ua, ip);
};

// A panic (a bug: none should happen on any input) traps at once: scripts/build-wasm
// builds with panic=immediate-abort, which leaves Rust's panic formatting out of the
// .wasm and runs no hook. Every IpFence method turns that trap (a
// WebAssembly.RuntimeError) into an Error that says what it is; other errors pass as
// they are.
const __ipfBug =
  'ipfence-wasm: internal error (a bug, please report it); the module must be reloaded: ';
function __ipfGuard(fn) {
  return function (a, b, c) {
    try {
      return fn.call(this, a, b, c);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) throw new Error(__ipfBug + e.message, { cause: e });
      throw e;
    }
  };
}
for (const o of [IpFence, IpFence.prototype]) {
  for (const k of Object.getOwnPropertyNames(o)) {
    const d = Object.getOwnPropertyDescriptor(o, k);
    if (k !== 'constructor' && typeof d.value === 'function') {
      Object.defineProperty(o, k, { ...d, value: __ipfGuard(d.value) });
    }
  }
}

