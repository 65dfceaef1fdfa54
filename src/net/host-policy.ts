import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

// A tenant names the SMTP and IMAP hosts of its accounts, so a host is tenant text: left alone
// it reaches the installation's own network (127.0.0.1, 10.x, the cloud metadata service at
// 169.254.169.254). Every connection to a tenant's host is checked after DNS resolution, on the
// address actually dialled, so a name that resolves (or later re-resolves) inward is refused too.

/** Which inward addresses the operator lets accounts reach (ALLOW_PRIVATE_HOSTS). */
export const PRIVATE_HOST_ALLOWANCES = ['none', 'loopback', 'private', 'all'] as const;
export type PrivateHostAllowance = (typeof PRIVATE_HOST_ALLOWANCES)[number];

/** The error a refused connection fails with; `code` lets callers tell it from a network error. */
class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  readonly code = 'EBLOCKEDADDRESS';
}

const METADATA = ['169.254.169.254', 'fd00:ec2::254', '100.100.100.200'];

type AddressClass = 'public' | 'loopback' | 'private' | 'other';

/** public; loopback; private (RFC 1918, unique local, CGNAT); other (link-local, metadata, unspecified, multicast, reserved …). */
export function addressClass(address: string): AddressClass {
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  if (METADATA.some((m) => ipaddr.parse(m).toNormalizedString() === ip.toNormalizedString())) return 'other';
  const range = ip.range();
  if (range === 'unicast') return 'public';
  if (range === 'loopback') return 'loopback';
  if (range === 'private' || range === 'uniqueLocal' || range === 'carrierGradeNat') return 'private';
  return 'other';
}

const ALLOWED: Record<PrivateHostAllowance, AddressClass[]> = {
  none: ['public'],
  loopback: ['public', 'loopback'],
  private: ['public', 'loopback', 'private'],
  all: ['public', 'loopback', 'private', 'other'],
};

/** Undefined when `address` (an IP) may be connected to, else why not. */
export function blockedReason(address: string, allow: PrivateHostAllowance): string | undefined {
  const cls = addressClass(address);
  if (ALLOWED[allow].includes(cls)) return undefined;
  const what = cls === 'loopback' ? 'a loopback' : cls === 'private' ? 'a private' : 'a link-local, metadata or reserved';
  return `${what} address, which this installation does not connect to (ALLOW_PRIVATE_HOSTS)`;
}

/** Throws BlockedAddressError when `host` is an IP literal that may not be reached. Names pass: they are checked at connect time. */
export function assertLiteralAllowed(host: string, allow: PrivateHostAllowance): void {
  const bare = host.replace(/^\[|\]$/g, '');
  if (!net.isIP(bare)) return;
  const reason = blockedReason(bare, allow);
  if (reason) throw new BlockedAddressError(`${host} is ${reason}`);
}

/**
 * A `lookup` for net/tls sockets that resolves like the system does and refuses the connection
 * when any address of the name is not allowed (a name pointing both out and in is not trusted).
 */
export function guardedLookup(allow: PrivateHostAllowance): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return (callback as (e: Error) => void)(err);
      const refused = addresses.find((a) => blockedReason(a.address, allow));
      if (refused || addresses.length === 0) {
        const reason = refused ? blockedReason(refused.address, allow) : 'no address';
        return (callback as (e: Error) => void)(new BlockedAddressError(`${hostname} resolves to ${reason}`));
      }
      if ((options as dns.LookupOptions).all) return (callback as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      const [first] = addresses;
      return callback(null, first!.address, first!.family);
    });
  };
}

/** A TCP connection to `host:port` made only to an allowed address, resolved at this moment. */
export function connectGuarded(host: string, port: number, allow: PrivateHostAllowance, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    try {
      assertLiteralAllowed(host, allow);
    } catch (err) {
      reject(err as Error);
      return;
    }
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port, lookup: guardedLookup(allow) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connection to ${host}:${port} timed out`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
