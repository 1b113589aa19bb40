/**
 * Where a webhook may point (docs/webhooks.md "Safety"): `http:` or `https:` only, and — unless
 * `WEBHOOK_ALLOW_PRIVATE=true` — never at this machine or a private network, since a server that
 * POSTs wherever a project manager says is a way into those networks (OWASP's "Server-Side Request
 * Forgery" cheat sheet). A name is checked by what it resolves to, both when the webhook is saved and
 * on every delivery through the socket's own `lookup` (`guardedLookup`), so a name that later
 * resolves elsewhere (DNS rebinding) is refused at connect time too.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { promisify } from 'node:util';

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

/** True for loopback, private, link-local, shared, multicast and reserved addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true;
}

export class WebhookTargetError extends Error {
  override readonly name = 'WebhookTargetError';
}

const lookupAll = promisify(dnsLookup) as (host: string, opts: LookupAllOptions) => Promise<LookupAddress[]>;

/** Checks a URL a manager gives; throws WebhookTargetError saying what is wrong with it. */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookTargetError('url must be http or https');
  if (url.username || url.password) throw new WebhookTargetError('url must not carry credentials (sign with the secret instead)');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookupAll(host, { all: true })).map((a) => a.address);
    } catch {
      throw new WebhookTargetError(`url host ${host} does not resolve`);
    }
  }
  const bad = addresses.find(isPrivateAddress);
  if (bad !== undefined) throw new WebhookTargetError(`url host ${host} is a private or loopback address (${bad})`);
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that refuses private addresses unless they are allowed. */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...(options as LookupAllOptions), all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const bad = allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (bad) {
        const refused: NodeJS.ErrnoException = new WebhookTargetError(`${hostname} resolves to a private address (${bad.address})`);
        refused.code = 'EPRIVATE';
        return callback(refused, []);
      }
      if ((options as { all?: boolean }).all) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}
