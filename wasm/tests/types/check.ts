// Compiled (never run) by tests/types.test.js with `tsc --strict --noEmit` against the
// generated declarations: the .d.ts must describe the API the README shows.
import { IpFence, type LookupResult, type Info, type ExportOutput, type Diff, type Names } from '../../pkg/node/ipfence_wasm';

declare const text: string;
declare const bytes: Uint8Array;

const f: IpFence = IpFence.fromAwsJson(text, { services: ['API_GATEWAY'], regions: ['us-east-1'], family: 'ipv4' });
const g: IpFence = IpFence.fromBlob(bytes);
const c: IpFence = IpFence.fromCloudFrontJson(text, {});
const t: IpFence = IpFence.fromText(text, undefined, { name: 'mine.txt', maskHostBits: true });
const yes: boolean = f.contains('3.5.140.2');
const m: LookupResult | null = f.lookup('3.5.140.2');
if (m) {
  const p: string = m.prefix;
  const provider: string = m.entries[0].provider;
  const nbg: string | undefined = m.entries[0].networkBorderGroup;
  void p; void nbg; void provider;
}
const many: (LookupResult | null)[] = f.lookupMany(['3.5.140.2', '8.8.8.8']);
const flags: Uint8Array = f.containsMany(['3.5.140.2']);
const flags4: Uint8Array = f.containsMany(Uint32Array.of(0x03058c02));
const flags6: Uint8Array = f.containsMany(new Uint8Array(16));
const many4: (LookupResult | null)[] = f.lookupMany(Uint32Array.of(0x03058c02));
const many6: (LookupResult | null)[] = f.lookupMany(new Uint8Array(32));
const out: ExportOutput = f.export('nftables', { name: 'web', ports: [443], summarize: false });
const up: ExportOutput = f.exportUpdate('nftables', g, {});
const d: Diff = g.diff(f);
const v4added: number = d.addedAddresses.ipv4;
const info: Info = f.info();
const created: string | null = info.sources[0].createDate;
const names: Names = f.names();
const blob: Uint8Array = f.toBlob();
const s: IpFence = g.select({ services: ['S3'] });
const fmt: string = IpFence.detectFormat(text);
const formats: string[] = IpFence.sourceFormats();
const bots: IpFence = IpFence.fromSource(text, { providers: ['google'], services: ['googlebot'] }, { label: 'googlebot', format: 'google' });
const provs: string[] = bots.names().providers;
const who: string = bots.info().sources[0].provider;
const dp: string = g.diff(f).added[0].provider;
void [formats, provs, who, dp];
void [yes, many, flags, flags4, flags6, many4, many6, out, up, v4added, created, names, blob, s, fmt, c, t];
f.free();
// @ts-expect-error binary batches are Uint32Array (IPv4) or Uint8Array (IPv6)
f.containsMany(new Float64Array(1));
// @ts-expect-error providers is a list of strings
IpFence.fromSource(text, { providers: [1] });
// @ts-expect-error family is 'ipv4' | 'ipv6'
IpFence.fromAwsJson(text, { family: 'ipv5' });
