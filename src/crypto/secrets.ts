import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// Account passwords at rest: AES-256-GCM under the MASTER_KEY from configuration. The account's
// tenant, name and field are the associated data, so a ciphertext copied to another account or
// field does not decrypt.

export class SecretBox {
  private readonly key: Buffer;

  constructor(masterKey: string) {
    const key = Buffer.from(masterKey, /^[0-9a-f]{64}$/i.test(masterKey) ? 'hex' : 'base64');
    if (key.length !== 32) throw new Error('MASTER_KEY must be 32 bytes, as 64 hex digits or base64');
    this.key = key;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  open(sealed: string, context: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }
}

export const masterKeyProblem = (value: string): string | undefined => {
  try {
    new SecretBox(value);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^MASTER_KEY /, '');
  }
};
