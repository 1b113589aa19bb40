/**
 * What an importer or a safety check found wrong with an input, and the typed errors that carry
 * such findings out of the pure converters (the server maps `status` once).
 *
 *   const r = parseCoco(text, ctx)
 *   if (r.errors.length) reply(422, r.errors) // every problem, each with its place and code
 */

/** `place` is `file:line` for text files, a JSON pointer (`/annotations/3/bbox`) for JSON. */
export interface Problem {
  code: string;
  message: string;
  place: string;
}

export const problem = (code: string, message: string, place: string): Problem => ({ code, message, place });

/**
 * Input that is unsafe or malformed as a whole (zip traversal, DOCTYPE, nesting too deep): the
 * importer turns it into `errors`; a caller outside an importer can map it to 422.
 */
export class UnsafeInputError extends Error {
  readonly code: string;
  readonly status = 422;
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    const first = problems[0] ?? problem('unsafe_input', 'unsafe input', '');
    super(problems.length > 1 ? `${first.message} (+${problems.length - 1} more)` : first.message);
    this.name = 'UnsafeInputError';
    this.code = first.code;
    this.problems = problems;
  }
}

/** Input past a size limit (body, inflated bytes, entry count): 413, raised as soon as it is seen. */
export class InputTooLargeError extends Error {
  readonly code: string;
  readonly status = 413;
  readonly place: string;
  readonly limit: number;
  /** What `limit` counts. */
  readonly unit: 'bytes' | 'entries' | 'characters';

  constructor(code: string, message: string, place: string, limit: number, unit: InputTooLargeError['unit'] = 'bytes') {
    super(message);
    this.name = 'InputTooLargeError';
    this.code = code;
    this.place = place;
    this.limit = limit;
    this.unit = unit;
  }
}

/** Turns the unsafe-input error of a safety module into importer errors; anything else rethrows. */
export const problemsOf = (e: unknown): Problem[] => {
  if (e instanceof UnsafeInputError) return e.problems;
  throw e;
};
