// Compiled (never run) by tests/types.test.js like check.ts: the lite module's
// declarations type what it has, and not what it leaves out.
import { IpFence, type LookupResult, type Info } from '../../pkg/lite/node/ipfence_wasm';

declare const bytes: Uint8Array;

const g: IpFence = IpFence.fromBlob(bytes);
const s: IpFence = g.select({ services: ['CLOUDFRONT'], family: 'ipv4' });
const yes: boolean = s.contains('3.5.140.2');
const m: LookupResult | null = s.lookup('3.5.140.2');
const many: (LookupResult | null)[] = s.lookupMany(new Uint32Array([0x03058c02]));
const flags: Uint8Array = s.containsMany(['3.5.140.2']);
const info: Info = g.info();
const back: Uint8Array = g.toBlob();
// @ts-expect-error: no parsers in the lite module
IpFence.fromAwsJson('{}');
// @ts-expect-error: no exports in the lite module
g.export('nftables');
// @ts-expect-error: no diff in the lite module
g.diff(s);
void yes; void m; void many; void flags; void info; void back;
g.free();
s.free();
