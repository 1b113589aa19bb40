/**
 * The one error type of docs-model. `code` is stable (REST maps it to a status once, in the
 * server); `field` names the JSON field that is wrong, so a client can point at it.
 *
 *   try { addAnnotation(doc, input, { by: 'alice' }) }
 *   catch (e) { if (e instanceof DocModelError && e.code === 'unknown_label') … }
 */

export type DocModelErrorCode =
  | 'invalid_frame'
  | 'invalid_bbox'
  | 'unknown_label'
  | 'unknown_track'
  | 'not_found'
  | 'duplicate_id'
  | 'duplicate_keyframe'
  | 'invalid_value'
  | 'invalid_meta'
  | 'invalid_content';

export class DocModelError extends Error {
  readonly code: DocModelErrorCode;
  readonly field: string;
  readonly details: unknown;

  constructor(code: DocModelErrorCode, field: string, message: string, details?: unknown) {
    super(message);
    this.name = 'DocModelError';
    this.code = code;
    this.field = field;
    this.details = details;
  }

  toJSON(): { code: DocModelErrorCode; field: string; message: string; details?: unknown } {
    const out: { code: DocModelErrorCode; field: string; message: string; details?: unknown } = {
      code: this.code,
      field: this.field,
      message: this.message,
    };
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}

type ErrorFactory = (field: string, message: string, details?: unknown) => DocModelError;

const kind =
  (code: DocModelErrorCode): ErrorFactory =>
  (field, message, details) =>
    new DocModelError(code, field, message, details);

// One factory per kind, so each code string is written once.
export const invalidFrame = kind('invalid_frame');
export const invalidBbox = kind('invalid_bbox');
export const unknownLabel = kind('unknown_label');
export const unknownTrack = kind('unknown_track');
export const notFound = kind('not_found');
export const duplicateId = kind('duplicate_id');
export const duplicateKeyframe = kind('duplicate_keyframe');
export const invalidValue = kind('invalid_value');
export const invalidMeta = kind('invalid_meta');
export const invalidContent = kind('invalid_content');
