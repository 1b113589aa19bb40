/**
 * Reading request bodies with raw-body: a size limit per content type (413 past it, before a byte
 * more is buffered when Content-Length says so), 415 for a type the route does not take, 400 for
 * JSON that does not parse, and 422 naming each field a schema refuses.
 *
 *   const input = await readJson(ctx, ProjectCreate, { limitBytes: 1 << 20 })
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import getRawBody from 'raw-body';
import type { Context } from 'koa';
import { z } from 'zod';
import { SLICE_MS } from '../base/loop-slices.ts';
import { parseJsonInSlices } from '../base/json-slices.ts';
import {
  BadRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
  type ErrorDetail,
} from '../base/errors.ts';

/** Content type (without parameters) → largest body accepted, in bytes. */
export type BodyLimits = Readonly<Record<string, number>>;

export const DEFAULT_JSON_LIMIT = 1024 * 1024;

function errorType(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const type = (err as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

/** The raw body of one of the accepted content types. */
export async function readRaw(ctx: Context, limits: BodyLimits): Promise<{ type: string; body: Buffer }> {
  const type = ctx.request.type.toLowerCase();
  const limit = limits[type];
  if (limit === undefined) {
    const accepted = Object.keys(limits).join(', ');
    throw new UnsupportedMediaTypeError(`send the body as ${accepted}${type ? `, not ${type}` : ''}`);
  }
  const encoding = (ctx.get('Content-Encoding') || 'identity').toLowerCase();
  if (encoding !== 'identity') throw new UnsupportedMediaTypeError(`Content-Encoding ${encoding} is not supported`);
  const declared = ctx.get('Content-Length');
  try {
    const body = await getRawBody(ctx.req, { limit, ...(declared ? { length: declared } : {}) });
    return { type, body };
  } catch (err) {
    const kind = errorType(err);
    if (kind === 'entity.too.large') {
      throw new PayloadTooLargeError(`the body is larger than ${limit} bytes`, { limitBytes: limit });
    }
    if (kind === 'request.size.invalid') throw new BadRequestError('the body is shorter or longer than Content-Length');
    if (kind === 'request.aborted') throw new BadRequestError('the request was aborted');
    throw err;
  }
}

/** zod issues as `details`: one entry per problem, `field` as a dotted path (`bbox.2`, `[3].frame`). */
export function issueDetails(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the branch the input was meant for: the one that did not fail at its root type
      // (an object sent where one-or-many annotations are allowed is an annotation, not an array).
      const branches = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      const chosen = branches.length === 1 ? branches[0] : undefined;
      if (chosen) {
        out.push(...issueDetails(chosen, path));
        continue;
      }
    }
    out.push({ field: formatPath(path), code: issue.code, message: issue.message });
  }
  return out;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

const LARGE_BODY_BYTES = 256 * 1024;

/** Parses with `schema`; a refusal becomes a 422 naming the fields. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, what = 'body'): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw refused(result.error.issues, what);
}

/** A 422 naming the fields, the first of them in the message. */
function refused(issues: readonly z.core.$ZodIssue[], what: string): ValidationError {
  const details = issueDetails(issues);
  const first = details[0];
  const where = first?.field ? ` (${first.field}: ${first.message})` : first ? ` (${first.message})` : '';
  return new ValidationError(`the ${what} is not valid${where}`, details);
}

/** The array a body schema takes: the schema itself, or the one array option of a plain union. */
function arrayBranch(schema: z.ZodType): z.ZodArray | undefined {
  if (schema instanceof z.ZodArray) return schema;
  if (!(schema instanceof z.ZodUnion) || (schema._zod.def.checks?.length ?? 0) > 0) return undefined;
  const arrays = schema.options.filter((option): option is z.ZodArray => option instanceof z.ZodArray);
  return arrays.length === 1 ? arrays[0] : undefined;
}

/**
 * `parseInput`, with a long array's items parsed in slices of about SLICE_MS and a turn of the
 * event loop between them: zod parsing a 10 000-annotation bulk create at once held the loop
 * 40-60 ms (its garbage included; a CPU profile under `npm run bench:stalls`). The array's own
 * checks (its length) run first, so an array past its limit is refused before any item is read.
 * Same output and same 422 details as `parseInput`.
 */
export async function parseInputInSlices<T extends z.ZodType>(schema: T, value: unknown, what = 'body'): Promise<z.output<T>> {
  const branch = Array.isArray(value) && value.length > 1 ? arrayBranch(schema) : undefined;
  if (!branch || !Array.isArray(value)) return parseInput(schema, value, what);
  const checks = (branch._zod.def.checks ?? []) as z.core.$ZodCheck<unknown[]>[];
  const length = z.array(z.unknown()).check(...checks).safeParse(value);
  if (!length.success) throw refused(length.error.issues, what);
  const element = branch.element as z.ZodType;
  const items: unknown[] = new Array(value.length);
  const issues: z.core.$ZodIssue[] = [];
  let since = performance.now();
  for (let k = 0; k < value.length; k++) {
    if (performance.now() - since >= SLICE_MS) {
      await nextTurn();
      since = performance.now();
    }
    const item = element.safeParse(value[k]);
    if (item.success) items[k] = item.data;
    else for (const issue of item.error.issues) issues.push({ ...issue, path: [k, ...issue.path] });
  }
  if (issues.length > 0) throw refused(issues, what);
  return items as z.output<T>;
}

/** A JSON body parsed by `schema`. */
export async function readJson<T extends z.ZodType>(
  ctx: Context,
  schema: T,
  opts: { limitBytes?: number } = {},
): Promise<z.output<T>> {
  const limit = opts.limitBytes ?? DEFAULT_JSON_LIMIT;
  const { body } = await readRaw(ctx, { 'application/json': limit });
  let value: unknown;
  try {
    // A large body's parse is cut at its array's elements (base/json-slices.ts).
    const text = body.toString('utf8');
    value = body.length < LARGE_BODY_BYTES ? JSON.parse(text) : await parseJsonInSlices(text);
  } catch (err) {
    throw new BadRequestError(`the body is not valid JSON: ${err instanceof Error ? err.message : 'parse error'}`, undefined, 'malformed_json');
  }
  // A large body's parse and its check each hold the loop ~10-25 ms (10 000 annotations): not in one turn.
  if (body.length < LARGE_BODY_BYTES) return parseInput(schema, value);
  await nextTurn();
  return parseInputInSlices(schema, value);
}
