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
  const nbg: string = m.entries[0].networkBorderGroup;
  void p; void nbg;
}
const many: (LookupResult | null)[] = f.lookupMany(['3.5.140.2', '8.8.8.8']);
const flags: Uint8Array = f.containsMany(['3.5.140.2']);
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
void [yes, many, flags, out, up, v4added, created, names, blob, s, fmt, c, t];
f.free();
// @ts-expect-error family is 'ipv4' | 'ipv6'
IpFence.fromAwsJson(text, { family: 'ipv5' });
