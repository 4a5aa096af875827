// The OpenAPI 3.1 document, generated from the route table: paths, parameters and request
// bodies come from the same zod schemas that validate requests (z.toJSONSchema, input side).
import { z } from 'zod';
import type { Route } from './http.js';

const toSchema = (s: z.ZodType) =>
  z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;

function parameters(where: 'path' | 'query', s: z.ZodType | undefined) {
  if (!s) return [];
  const schema = toSchema(s) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, p]) => ({
    name, in: where, required: where === 'path' || (schema.required ?? []).includes(name),
    ...(typeof p['description'] === 'string' ? { description: p['description'] } : {}),
    schema: p,
  })); // prettier-ignore
}

const ERROR_RESPONSES = {
  '400': { description: 'invalid request: `{error, message, issues}`' },
  '401': { description: 'not authenticated' },
  '403': { description: 'the role is not allowed' },
  '404': { description: 'not found' },
  '409': { description: 'conflict (stale revision, refused apply)' },
  '413': { description: 'body too large' },
};

export function openApiDocument<D>(routes: readonly Route<D>[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const content =
      r.produces === 'text' ? { 'text/plain': { schema: { type: 'string' } } }
      : r.produces === 'sse' ? { 'text/event-stream': { schema: { type: 'string' } } }
      : { 'application/json': { schema: {} } }; // prettier-ignore
    const op: Record<string, unknown> = {
      tags: [r.tag],
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[/_.-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      'x-baton-role': r.role ?? 'none',
      security: r.role === null ? [] : [{ session: [] }, { bearer: [] }],
      parameters: [...parameters('path', r.params), ...parameters('query', r.query)],
      responses: { '200': { description: 'success', content }, ...ERROR_RESPONSES, ...(r.role === null ? {} : {}) },
    };
    if (r.body) {
      const schema = toSchema(r.body);
      op['requestBody'] = {
        required: true,
        content: {
          'application/json': { schema },
          ...(r.bodyKind === 'yaml' ? { 'text/yaml': { schema: { type: 'string', description: 'the YAML; the base revision in If-Match' } } } : {}),
        },
      };
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'baton API', version, description: 'Jobs for fleets of endpoints on NATS JetStream. See docs/api.md.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'baton_session' },
        bearer: { type: 'http', scheme: 'bearer', description: 'an API token, bt_<id>_<secret>' },
      },
      schemas: {
        Error: { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' }, issues: { type: 'array' } } },
      },
    },
    paths,
  };
} // prettier-ignore
