import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// Account passwords at rest: AES-256-GCM under the MASTER_KEY from configuration. The account's
// tenant, name and field are the associated data, so a ciphertext copied to another account or
// field does not decrypt.
//
// A sealed value names the key that sealed it (`v2:<key id>:iv:tag:body`), so the key can be
// rotated: MASTER_KEY seals, MASTER_KEY_PREVIOUS (older keys, comma-separated) only open, and
// `npm run reseal` rewrites every stored secret under MASTER_KEY, after which the old keys can
// go. Values sealed before key ids (`v1:iv:tag:body`) are opened by trying each key.

interface Key {
  id: string;
  bytes: Buffer;
}

function parseKey(value: string): Key {
  const bytes = Buffer.from(value, /^[0-9a-f]{64}$/i.test(value) ? 'hex' : 'base64');
  if (bytes.length !== 32) throw new Error('MASTER_KEY must be 32 bytes, as 64 hex digits or base64');
  return { id: keyIdOf(bytes), bytes };
}

/** A short public name of a key: it tells keys apart and reveals nothing usable about one. */
function keyIdOf(bytes: Buffer): string {
  return createHash('sha256').update('campaign-mailer master key id\0').update(bytes).digest('hex').slice(0, 12);
}

export class SecretBox {
  private readonly current: Key;
  private readonly keys: Key[];

  /** `masterKey` seals and opens; `previous` keys only open what they sealed. */
  constructor(masterKey: string, previous: readonly string[] = []) {
    this.current = parseKey(masterKey);
    this.keys = [this.current, ...previous.map(parseKey).filter((k) => k.id !== this.current.id)];
  }

  /** The id of the key new values are sealed under. */
  get keyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v2', this.current.id, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  open(sealed: string, context: string): string {
    const parts = sealed.split(':');
    if (parts[0] === 'v2' && parts.length === 5) {
      const [, id, iv, tag, body] = parts as [string, string, string, string, string];
      const key = this.keys.find((k) => k.id === id);
      if (!key) throw new Error(`sealed under master key ${id}, which is neither MASTER_KEY nor in MASTER_KEY_PREVIOUS`);
      return decrypt(key.bytes, iv, tag, body, context);
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      const [, iv, tag, body] = parts as [string, string, string, string];
      for (const key of this.keys) {
        try {
          return decrypt(key.bytes, iv, tag, body, context);
        } catch {
          // another key, perhaps
        }
      }
      throw new Error('sealed before key ids, and no configured master key opens it');
    }
    throw new Error('not a sealed secret');
  }

  /** Whether `sealed` is under an older key (or none named) and `reseal` would rewrite it. */
  isStale(sealed: string): boolean {
    return !sealed.startsWith(`v2:${this.current.id}:`);
  }

  /** `sealed` opened with whichever key sealed it and sealed again under MASTER_KEY. */
  reseal(sealed: string, context: string): string {
    return this.seal(this.open(sealed, context), context);
  }
}

function decrypt(key: Buffer, iv: string, tag: string, body: string, context: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
}

export const masterKeyProblem = (value: string): string | undefined => {
  try {
    parseKey(value);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^MASTER_KEY /, '');
  }
};

/** MASTER_KEY_PREVIOUS: older keys, comma-separated; a problem names the position, never the value. */
export const previousKeysProblem = (value: string): string | undefined => {
  const keys = splitKeys(value);
  const bad = keys.findIndex((k) => masterKeyProblem(k) !== undefined);
  return bad === -1 ? undefined : `key ${bad + 1} of ${keys.length} ${masterKeyProblem(keys[bad]!)}`;
};

export const splitKeys = (value: string): string[] =>
  value
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
