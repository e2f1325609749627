// The allowlist checker: the ipfence wasm package on the embedded AWS snapshot (a compiled
// blob made by scripts/build-wasm) or on a file the user gives. No network beyond this origin.
import init, { IpFence } from './pkg/ipfence_wasm.js';

const $ = (id) => document.getElementById(id);
let base = null;     // everything in the current data
let current = null;  // what the selection keeps
let dataLabel = '';

function say(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', isError);
}

function describe(info) {
  return info.sources.map((s) => {
    const stamps = [];
    if (s.createDate) stamps.push(`createDate ${s.createDate}`);
    if (s.syncToken) stamps.push(`syncToken ${s.syncToken}`);
    return `${s.name} (${s.format}${stamps.length ? ', ' + stamps.join(', ') : ''})`;
  }).join('; ');
}

function fillSelect(select, values) {
  select.replaceChildren(...values.map((v) => new Option(v, v)));
}

function chosen(select) {
  return [...select.selectedOptions].map((o) => o.value);
}

function setBase(fence, label) {
  if (current && current !== base) current.free();
  if (base) base.free();
  base = fence;
  current = null;
  dataLabel = label;
  const names = base.names();
  fillSelect($('services'), names.services);
  fillSelect($('regions'), names.regions);
  const info = base.info();
  say('data-info', `Using ${label}: ${describe(info)} — ${info.entryCount} entries, ${info.prefixCount} prefixes.`);
  applyFilter();
}

function applyFilter() {
  const filter = { services: chosen($('services')), regions: chosen($('regions')), family: $('family').value };
  try {
    const next = base.select(filter);
    if (current && current !== base) current.free();
    current = next;
    const info = current.info();
    say('filter-info', `Selection: ${info.filter} — ${info.entryCount} entries, ${info.prefixCount} prefixes.`);
  } catch (e) {
    say('filter-info', e.message, true);
  }
}

/** The crawler verdict of a user agent and an address, on all the data. */
function botCheck() {
  try {
    const v = base.verifyBot($('bot-ua').value, $('bot-ip').value.trim());
    say('bot-info', `${v.verdict}: ${v.message}`, v.verdict === 'fake');
  } catch (e) {
    say('bot-info', e.message, true);
  }
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function check() {
  const ips = $('ips').value.split(/[\s,;]+/).filter(Boolean);
  const body = $('results').tBodies[0];
  body.replaceChildren();
  let allowed = 0;
  for (const ip of ips) {
    const row = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.className = 'ip';
    th.textContent = ip;
    row.appendChild(th);
    let m;
    try {
      m = current.lookup(ip);
    } catch (e) {
      cell(row, 'invalid', 'no');
      const td = cell(row, e.message, 'error');
      td.colSpan = 5;
      continue;
    }
    if (!m) {
      cell(row, 'no', 'no');
      cell(row, '—');
      cell(row, '');
      cell(row, '');
      cell(row, '');
      cell(row, '');
      continue;
    }
    allowed++;
    cell(row, 'yes', 'yes');
    cell(row, m.prefix, 'prefix');
    cell(row, m.entries.map((e) => e.provider).join(', '));
    cell(row, m.entries.map((e) => e.service || '—').join(', '));
    cell(row, m.entries.map((e) => e.region || '—').join(', '));
    // The provider's extra field, under its provider's key (AWS: networkBorderGroup).
    const extra = (e) => e.networkBorderGroup ?? e.direction ?? e.systemService ?? e.type ?? e.extra;
    cell(row, m.entries.map((e) => extra(e) || '—').join(', '));
  }
  $('results').hidden = ips.length === 0;
  say('check-info', ips.length ? `${allowed} of ${ips.length} allowed by ${dataLabel}.` : 'Type at least one address.');
}

const EXT = { nftables: 'nft', ipset: 'ipset', iptables: 'rules', pf: 'pf', 'aws-waf': 'json', 'aws-prefix-list': 'json', 'aws-security-group': 'json' };

function download() {
  const format = $('format').value;
  const ports = $('ports').value.split(/[\s,]+/).filter(Boolean).map(Number);
  try {
    const out = current.export(format, { name: $('export-name').value, ports });
    const url = URL.createObjectURL(new Blob([out.text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `ipfence-${format}.${EXT[format] || 'txt'}`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say('export-info', `Downloaded ${a.download}.${out.notes.length ? ' ' + out.notes.join(' ') : ''}`);
  } catch (e) {
    say('export-info', e.message, true);
  }
}

function loadText(text, name) {
  try {
    setBase(IpFence.fromSource(text, {}, { name }), name);
  } catch (e) {
    say('data-info', e.message, true);
  }
}

async function loadEmbedded() {
  const bytes = new Uint8Array(await (await fetch('aws.ipfence')).arrayBuffer());
  setBase(IpFence.fromBlob(bytes), 'the embedded AWS snapshot');
}

async function main() {
  await init();
  await loadEmbedded();
  $('services').addEventListener('change', applyFilter);
  $('regions').addEventListener('change', applyFilter);
  $('family').addEventListener('change', applyFilter);
  $('check').addEventListener('click', check);
  $('bot-check').addEventListener('click', botCheck);
  $('ips').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) check(); });
  $('download').addEventListener('click', download);
  $('use-pasted').addEventListener('click', () => loadText($('source-text').value, 'pasted list'));
  $('use-embedded').addEventListener('click', () => loadEmbedded());
  $('source-file').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (file) loadText(await file.text(), file.name);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer.files[0];
    if (file) loadText(await file.text(), file.name);
  });
  document.body.dataset.ready = 'true';
}

main().catch((e) => say('data-info', `Cannot start: ${e.message}`, true));
