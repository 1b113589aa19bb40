/**
 * Seals small secrets (webhook signing secrets) at rest: AES-256-GCM under a key derived with HKDF
 * from the server's AUTH_SECRET, so a copy of the database alone does not reveal them, while the
 * server can still open them to sign deliveries. The sealed form is `v1.<iv>.<tag>.<ciphertext>`
 * in base64url. Rotating AUTH_SECRET makes sealed secrets unreadable: their webhooks must be given
 * new secrets (docs/webhooks.md).
 *
 *   const box = createSecretBox(authSecret, 'webhook-secrets')
 *   const sealed = box.seal('whsec_…'); box.open(sealed) // → 'whsec_…'
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface SecretBox {
  seal(plain: string): string;
  /** The plain secret; throws SecretBoxError when the value was sealed under another key. */
  open(sealed: string): string;
}

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

export function createSecretBox(masterSecret: string, purpose: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', masterSecret, 'annosync', purpose, 32));
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
    },
    open(sealed) {
      const [version, iv, tag, body] = sealed.split('.');
      if (version !== 'v1' || iv === undefined || tag === undefined || body === undefined) {
        throw new SecretBoxError('not a sealed secret');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretBoxError('sealed under another key (was AUTH_SECRET changed?)');
      }
    },
  };
}
