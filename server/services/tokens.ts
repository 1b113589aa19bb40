/**
 * Who is calling, and what they may do (docs/architecture.md, "Auth").
 *
 * Bearer JWTs signed with HS256 and `AUTH_SECRET`, verified with jose; only HS256 is accepted, so
 * `alg: none` and algorithm-confusion tokens fail verification. Claims: `sub`, `name`, `admin`,
 * `projects: { <projectId>: 'viewer' | 'annotator' | 'manager' }`.
 *
 *   const tokens = createTokenService(secret)
 *   const token = await tokens.sign({ sub: 'ada', projects: { p1: 'annotator' } })
 *   const identity = await tokens.verify(token)   // throws UnauthorizedError
 *   hasRole(identity, 'p1', 'viewer')              // true
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { z } from 'zod';
import { ForbiddenError, UnauthorizedError } from '../base/errors.ts';

export const ROLES = ['viewer', 'annotator', 'manager'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 1, annotator: 2, manager: 3 };

export interface Identity {
  id: string;
  name: string;
  admin: boolean;
  projects: Record<string, Role>;
  /** When the token expires (ms since epoch), if it does. */
  expiresAt?: number;
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(200),
  name: z.string().max(200).optional(),
  admin: z.boolean().optional(),
  projects: z.record(z.string().max(100), z.enum(ROLES)).optional(),
  exp: z.number().optional(),
});

export interface TokenService {
  verify(token: string): Promise<Identity>;
  sign(claims: { sub: string; name?: string; admin?: boolean; projects?: Record<string, Role> }, opts?: { expiresIn?: string | number }): Promise<string>;
}

/** Verified tokens kept, so a crowd reconnecting with one token verifies it once. */
const VERIFIED_CACHE_ENTRIES = 1_000;
const VERIFIED_CACHE_MS = 60_000;

export function createTokenService(secret: string): TokenService {
  // Imported once: given the raw secret, jose imports it as a CryptoKey on every call. A socket's
  // authorisation with a new token took 104-118 µs that way, 87-91 µs so (bench/auth-overhead.ts).
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  // A secret WebCrypto refuses fails every sign and verify; it never crashes the process unawaited.
  key.catch(() => undefined);
  const verified = new Map<string, { identity: Identity; until: number }>();
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit && hit.until > Date.now()) return hit.identity;
      verified.delete(token);
      const identity = await verifyUncached(token);
      if (verified.size >= VERIFIED_CACHE_ENTRIES) verified.delete(verified.keys().next().value as string);
      verified.set(token, { identity, until: Math.min(Date.now() + VERIFIED_CACHE_MS, identity.expiresAt ?? Infinity) });
      return identity;
    },
    async sign(claims, opts = {}) {
      const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setSubject(claims.sub);
      if (opts.expiresIn !== undefined) jwt.setExpirationTime(opts.expiresIn);
      return jwt.sign(await key);
    },
  };

  async function verifyUncached(token: string): Promise<Identity> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, await key, { algorithms: ['HS256'] }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new UnauthorizedError('token expired');
      throw new UnauthorizedError('invalid token');
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new UnauthorizedError('token claims are malformed');
    const { sub, name, admin, projects, exp } = claims.data;
    // A prototype-less record, so a project id like `__proto__` can never grant anything.
    const roles: Record<string, Role> = Object.create(null) as Record<string, Role>;
    for (const [projectId, role] of Object.entries(projects ?? {})) roles[projectId] = role;
    return { id: sub, name: name ?? sub, admin: admin ?? false, projects: roles, ...(exp === undefined ? {} : { expiresAt: exp * 1000 }) };
  }
}

/** The caller's role on a project; admins count as managers everywhere. */
export function roleOn(identity: Identity, projectId: string): Role | null {
  if (identity.admin) return 'manager';
  return Object.hasOwn(identity.projects, projectId) ? (identity.projects[projectId] ?? null) : null;
}

export function hasRole(identity: Identity, projectId: string, needed: Role): boolean {
  const role = roleOn(identity, projectId);
  return role !== null && RANK[role] >= RANK[needed];
}

/** Throws 403 unless the caller has at least `needed` on the project. */
export function assertRole(identity: Identity, projectId: string, needed: Role): void {
  if (!hasRole(identity, projectId, needed)) {
    throw new ForbiddenError(`this needs the ${needed} role on project ${projectId}`);
  }
}

export function assertAdmin(identity: Identity): void {
  if (!identity.admin) throw new ForbiddenError('this needs an admin token');
}

/** `Authorization: Bearer <token>` → the token, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * The secret in use: `AUTH_SECRET`, or one made on first start and kept in DATA_DIR (mode 0600)
 * so tokens survive restarts. `generated` tells main to bind to loopback and print an admin token.
 */
export function resolveAuthSecret(configured: string | undefined, dataDir: string | null): { secret: string; generated: boolean } {
  if (configured) return { secret: configured, generated: false };
  // An in-memory server keeps nothing, its secret included.
  if (dataDir === null) return { secret: randomBytes(32).toString('base64url'), generated: true };
  const file = path.join(dataDir, 'auth-secret');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return { secret: existing, generated: true };
  } catch {
    // first start: make one below
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, generated: true };
}
