/**
 * The OpenAPI 3.1 document of the REST API, generated from the route list itself (route.ts), so
 * every mounted route is listed with the very schemas that check it; and `/docs`, where
 * swagger-ui-dist (installed from npm, served from node_modules: no CDN) renders it for people.
 *
 *   const doc = openApiDocument(routes)   // → { openapi: '3.1.0', paths: { '/api/projects': … } }
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { z } from 'zod';
import { NotFoundError } from '../base/errors.ts';
import { defineRoute, openApiPath, type Reply, type Route } from './route.ts';
import { ErrorBody } from './schemas.ts';

const ERROR_TEXT: Record<number, string> = {
  400: 'malformed request (bad JSON, a query parameter that does not parse, a bad cursor)',
  401: 'no or invalid token',
  403: 'not allowed',
  404: 'not found',
  409: 'conflict with the current state',
  413: 'body over its limit',
  415: 'wrong content type',
  422: 'well-formed but invalid: details name each field',
  429: 'too many requests',
  503: 'temporarily unavailable',
};

export function openApiDocument(routes: readonly Route[], info: { version: string }): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const responses: ZodOpenApiResponsesObject = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status as `2${string}`] = {
        description: spec.description,
        ...(spec.schema ? { content: { [spec.contentType ?? 'application/json']: { schema: spec.schema } } } : {}),
      };
    }
    for (const status of route.errors) {
      responses[String(status) as `4${string}`] = {
        description: ERROR_TEXT[status] ?? 'error',
        content: { 'application/json': { schema: ErrorBody } },
      };
    }
    responses['5XX'] = { description: 'server error (no details leave the server)', content: { 'application/json': { schema: ErrorBody } } };
    const operation: ZodOpenApiOperationObject = {
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      tags: [route.tag],
      ...(route.params || route.query
        ? {
            requestParams: {
              ...(route.params ? { path: route.params as z.ZodObject } : {}),
              ...(route.query ? { query: route.query as z.ZodObject } : {}),
            },
          }
        : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              description: `JSON, at most ${route.bodyLimitBytes ?? 1024 * 1024} bytes`,
              content: {
                'application/json': { schema: route.body },
                // Types taken as files (the handler reads those itself).
                ...Object.fromEntries(
                  Object.keys(route.rawBody?.types ?? {}).map((type) => [
                    type,
                    { schema: { type: 'string', description: `${route.rawBody!.description} (at most ${route.rawBody!.types[type]} bytes)` } },
                  ]),
                ),
              },
            },
          }
        : {}),
      responses,
    };
    const key = openApiPath(route.path);
    paths[key] = { ...paths[key], [route.method]: operation };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'annosync REST API',
      version: info.version,
      description:
        'Projects, videos, project–video links, annotation sessions and their annotations. Annotation writes go through the live Yjs document `session:<id>` (WebSocket at /sync/<docName>), so connected annotators see them at once. Errors: `{ "error": { "code", "message", "details"? } }`.',
    },
    paths,
  });
}

/** `get /api/projects/:projectId/videos` → `getProjectsProjectIdVideos`: stable and unique per route. */
function operationId(route: Route): string {
  const words = route.path
    .replace(/^\/api\//, '')
    .split(/[/:-]+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1));
  return route.method + words.join('');
}

/** swagger-ui-dist's files that /docs serves; nothing else under its directory is reachable. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>annosync REST API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// A file, not an inline script, so the page works under a CSP without 'unsafe-inline'.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;

function swaggerUiDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/** GET /api/openapi.json, GET /docs and its assets. `routes` is every other route of the API. */
export function docsRoutes(apiRoutes: () => readonly Route[], version: string): Route[] {
  let cached: unknown = null;
  const assetCache = new Map<string, Buffer>();
  const self: Route[] = [
    defineRoute({
      method: 'get',
      path: '/api/openapi.json',
      tag: 'docs',
      summary: 'This document (OpenAPI 3.1)',
      responses: { 200: { description: 'the OpenAPI document', schema: z.record(z.string(), z.unknown()) } },
      handle: () => ({ body: (cached ??= openApiDocument([...apiRoutes(), ...self], { version })) }),
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      tag: 'docs',
      summary: 'The API documentation for people (Swagger UI)',
      responses: { 200: { description: 'an HTML page', schema: z.string(), contentType: 'text/html' } },
      handle: () => ({ body: DOCS_PAGE, headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/docs/:asset',
      tag: 'docs',
      summary: "Swagger UI's files (served from the installed swagger-ui-dist package)",
      params: z.object({ asset: z.string() }),
      responses: { 200: { description: 'the file', schema: z.string(), contentType: 'application/octet-stream' } },
      errors: [404],
      handle: async ({ params }): Promise<Reply> => {
        if (params.asset === 'init.js') return { body: INIT_SCRIPT, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } };
        const type = ASSETS[params.asset];
        if (!type) throw new NotFoundError(`no file '${params.asset}'`);
        let content = assetCache.get(params.asset);
        if (!content) assetCache.set(params.asset, (content = await readFile(path.join(swaggerUiDir(), params.asset))));
        return { body: content, headers: { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600' } };
      },
    }),
  ];
  return self;
}
