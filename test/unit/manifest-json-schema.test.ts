import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { manifestJsonSchema } from '../../src/wire/manifest.js';

interface SchemaNode {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
  propertyNames?: SchemaNode;
  items?: SchemaNode;
  enum?: string[];
  const?: string;
  pattern?: string;
  default?: unknown;
  maxItems?: number;
  oneOf?: SchemaNode[];
}

function schema(): SchemaNode & Record<string, unknown> {
  return manifestJsonSchema();
}

describe('manifestJsonSchema', () => {
  it('is a draft 2020-12 schema of the YAML format', () => {
    const s = schema();
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s.type, 'object');
    assert.equal(s.additionalProperties, false);
    assert.deepEqual(Object.keys(s.properties ?? {}), [
      'kind',
      'id',
      'version',
      'description',
      'tags',
      'params',
      'emit',
      'inventory',
      'retry',
      'execute',
    ]);
    assert.deepEqual(s.required, ['kind', 'id', 'version', 'execute']);
    assert.equal(s.properties?.kind?.const, 'job');
    assert.equal(s.properties?.id?.pattern, '^[a-z0-9][a-z0-9_-]*$');
    assert.equal(s.properties?.tags?.maxItems, 20);
  });

  it('describes execute with its enums, defaults and snake_case keys', () => {
    const execute = schema().properties?.execute;
    assert.equal(execute?.additionalProperties, false);
    assert.deepEqual(Object.keys(execute?.properties ?? {}), [
      'shell',
      'script',
      'script_object',
      'packages',
      'timeout',
      'cwd',
      'env',
      'run_as',
    ]);
    assert.deepEqual(execute?.required, ['shell', 'timeout']);
    assert.deepEqual(execute?.oneOf, [{ required: ['script'] }, { required: ['script_object'] }]);
    assert.deepEqual(execute?.properties?.shell?.enum, ['sh', 'bash', 'pwsh', 'powershell', 'cmd']);
    assert.deepEqual(execute?.properties?.run_as?.enum, ['system', 'user']);
    assert.equal(execute?.properties?.run_as?.default, 'system');
    assert.equal(execute?.properties?.env?.propertyNames?.pattern, '^[A-Za-z_][A-Za-z0-9_]*$');
    assert.deepEqual(execute?.properties?.env?.additionalProperties, { type: 'string' });
  });

  it('gives the timeout a pattern that matches exactly the accepted duration forms', () => {
    const pattern = schema().properties?.execute?.properties?.timeout?.pattern;
    assert.ok(pattern);
    const re = new RegExp(pattern);
    for (const ok of ['30s', '1h30m', '250ms', '1d', '2h0m5s']) assert.ok(re.test(ok), ok);
    for (const bad of ['', '30', '30m1h', '1.5h', '30 s', 's']) assert.ok(!re.test(bad), bad);
  });

  it('has a description on every field, for editor hover and completion', () => {
    const missing: string[] = [];
    const walk = (node: SchemaNode, path: string): void => {
      if (node.description === undefined || node.description === '') missing.push(path || '(root)');
      for (const [key, child] of Object.entries(node.properties ?? {}))
        walk(child, path ? `${path}.${key}` : key);
    };
    walk(schema(), '');
    assert.deepEqual(missing, []);
  });

  it('is plain JSON', () => {
    const s = schema();
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
});
