/**
 * The platform's rows (snake_case, as the database holds them) and records (camelCase, as the
 * repositories hand them out and the REST API sends them), and the one conversion between them
 * (conversion in one place). Timestamps leave as ISO strings; jsonb columns are
 * parsed by both drivers already.
 *
 *   projectFromRow(await knex('projects').where({ id }).first())
 */

export interface LabelSpec {
  name: string;
  color?: string;
  attributes?: Record<string, unknown>;
}

export interface Range {
  min?: number;
  max?: number;
}

export interface MatchingCriteria {
  tags?: string[];
  minWidth?: number;
  minHeight?: number;
  fps?: Range;
  durationSec?: Range;
  /** A regular expression (JavaScript syntax, case-insensitive) the video name should match. */
  namePattern?: string;
}

import type { SessionStatus } from '../docs-model/types.ts';

export type { SessionStatus };

export interface ProjectRecord {
  id: string;
  name: string;
  description: string;
  labels: LabelSpec[];
  criteria: MatchingCriteria;
  createdAt: string;
  updatedAt: string;
}

export interface VideoRecord {
  id: string;
  name: string;
  uri: string;
  width: number;
  height: number;
  fps: number;
  frameCount: number;
  durationSec: number;
  tags: string[];
  metadata: Record<string, unknown>;
  checksum: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProjectVideoRecord {
  projectId: string;
  videoId: string;
  assignedBy: string;
  assignedAt: string;
}

export interface SessionRecord {
  id: string;
  projectId: string;
  videoId: string;
  name: string;
  status: SessionStatus;
  docName: string;
  createdBy: string;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One row of the `annotations` projection. `updatedAt` is the document's ms since epoch. */
export interface AnnotationProjectionRecord {
  sessionId: string;
  annotationId: string;
  frame: number;
  label: string;
  x: number;
  y: number;
  w: number;
  h: number;
  trackId: string | null;
  detectionId: string | null;
  status: string;
  updatedAt: number;
}

export interface ProjectRow {
  id: string;
  name: string;
  description: string;
  labels: LabelSpec[];
  criteria: MatchingCriteria;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface VideoRow {
  id: string;
  name: string;
  uri: string;
  width: number;
  height: number;
  fps: number;
  frame_count: number;
  duration_sec: number;
  tags: string[];
  metadata: Record<string, unknown>;
  checksum: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface ProjectVideoRow {
  project_id: string;
  video_id: string;
  assigned_by: string;
  assigned_at: Date | string;
}

export interface SessionRow {
  id: string;
  project_id: string;
  video_id: string;
  name: string;
  status: SessionStatus;
  doc_name: string;
  created_by: string;
  archived_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface AnnotationProjectionRow {
  session_id: string;
  annotation_id: string;
  frame: number;
  label: string;
  x: number;
  y: number;
  w: number;
  h: number;
  track_id: string | null;
  detection_id: string | null;
  status: string;
  /** bigint: node-postgres returns it as a string. */
  updated_at: number | string;
}

const iso = (value: Date | string): string => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value));
/** jsonb arrives parsed from both drivers; a text fallback keeps a hand-written row readable. */
const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

export const projectFromRow = (row: ProjectRow): ProjectRecord => ({
  id: row.id,
  name: row.name,
  description: row.description,
  labels: json(row.labels),
  criteria: json(row.criteria),
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export const videoFromRow = (row: VideoRow): VideoRecord => ({
  id: row.id,
  name: row.name,
  uri: row.uri,
  width: row.width,
  height: row.height,
  fps: Number(row.fps),
  frameCount: row.frame_count,
  durationSec: Number(row.duration_sec),
  tags: json(row.tags),
  metadata: json(row.metadata),
  checksum: row.checksum,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export const projectVideoFromRow = (row: ProjectVideoRow): ProjectVideoRecord => ({
  projectId: row.project_id,
  videoId: row.video_id,
  assignedBy: row.assigned_by,
  assignedAt: iso(row.assigned_at),
});

export const sessionFromRow = (row: SessionRow): SessionRecord => ({
  id: row.id,
  projectId: row.project_id,
  videoId: row.video_id,
  name: row.name,
  status: row.status,
  docName: row.doc_name,
  createdBy: row.created_by,
  archivedAt: isoOrNull(row.archived_at),
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
});

export const annotationProjectionFromRow = (row: AnnotationProjectionRow): AnnotationProjectionRecord => ({
  sessionId: row.session_id,
  annotationId: row.annotation_id,
  frame: row.frame,
  label: row.label,
  x: Number(row.x),
  y: Number(row.y),
  w: Number(row.w),
  h: Number(row.h),
  trackId: row.track_id,
  detectionId: row.detection_id,
  status: row.status,
  updatedAt: Number(row.updated_at),
});

export const annotationProjectionToRow = (record: AnnotationProjectionRecord): AnnotationProjectionRow => ({
  session_id: record.sessionId,
  annotation_id: record.annotationId,
  frame: record.frame,
  label: record.label,
  x: record.x,
  y: record.y,
  w: record.w,
  h: record.h,
  track_id: record.trackId,
  detection_id: record.detectionId,
  status: record.status,
  updated_at: record.updatedAt,
});

/** camelCase field → column, per table, for inserts and partial updates. */
const columns = {
  project: { id: 'id', name: 'name', description: 'description', labels: 'labels', criteria: 'criteria' },
  video: {
    id: 'id',
    name: 'name',
    uri: 'uri',
    width: 'width',
    height: 'height',
    fps: 'fps',
    frameCount: 'frame_count',
    durationSec: 'duration_sec',
    tags: 'tags',
    metadata: 'metadata',
    checksum: 'checksum',
  },
  session: {
    id: 'id',
    projectId: 'project_id',
    videoId: 'video_id',
    name: 'name',
    status: 'status',
    docName: 'doc_name',
    createdBy: 'created_by',
  },
} as const;

const JSON_COLUMNS = new Set(['labels', 'criteria', 'tags', 'metadata']);

/**
 * The columns of a (partial) record, undefined fields left out. jsonb values are serialised here:
 * node-postgres would send a JS array as a Postgres array literal, not as JSON.
 */
export function toColumns(table: keyof typeof columns, record: object): Record<string, unknown> {
  const map = columns[table] as Record<string, string>;
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(record)) {
    const column = map[field];
    if (column === undefined || value === undefined) continue;
    out[column] = JSON_COLUMNS.has(column) ? JSON.stringify(value) : value;
  }
  return out;
}
