import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import type avro from 'avsc';
import { renderEventsModule, renderSchemasModule } from '../scripts/gen-schemas.js';
import { topicReaderSchema } from './codec.js';
import { backwardIncompatibility, historyOf } from './schema-compat.js';
import { currentRegistrySnapshot, eventTopics } from './schema-registry.js';
import { EVENT_SCHEMAS } from './schemas.generated.js';
import { EVENT_TYPES, SCHEMA_NAMESPACE, topicSpec } from './topology.js';

const ROOT = new URL('../', import.meta.url);
const HISTORY = new URL('schemas/history/', ROOT);

type Field = { name: string; type: unknown };
const fieldsOf = (schema: unknown) => (schema as { fields: Field[] }).fields;

describe('event schemas', () => {
  it.each(EVENT_TYPES)('%s is a namespaced record with the common event fields', (type) => {
    const schema = EVENT_SCHEMAS[type] as { type: string; name: string; namespace: string };

    expect(schema).toMatchObject({ type: 'record', name: type, namespace: SCHEMA_NAMESPACE });
    expect(fieldsOf(schema).map((f) => f.name)).toEqual(
      expect.arrayContaining(['eventId', 'orderId', 'occurredAt', 'correlationId']),
    );
  });

  it.each(EVENT_TYPES)('%s is BACKWARD compatible with every committed version', (type) => {
    const versions = historyOf(HISTORY, type);

    expect(versions.length).toBeGreaterThan(0);
    for (const { version, schema } of versions) {
      expect({ version, problem: backwardIncompatibility(EVENT_SCHEMAS[type] as avro.Schema, schema) }).toEqual({
        version,
        problem: undefined,
      });
    }
  });

  it.each(eventTopics())(
    'the value schema of %s reads data written with the previous version of the topic',
    (topic) => {
      const previous = topicSpec(topic).events.map((type) => historyOf(HISTORY, type).at(-1)?.schema);
      const writer = (previous.length === 1 ? previous[0] : previous) as avro.Schema;

      expect(backwardIncompatibility(topicReaderSchema(topic) as avro.Schema, writer)).toBeUndefined();
    },
  );

  it('fails when a field without a default is added', () => {
    const current = EVENT_SCHEMAS.OrderPlaced as { fields: Field[] };
    const changed = { ...current, fields: [...current.fields, { name: 'priority', type: 'int' }] };

    expect(backwardIncompatibility(changed as avro.Schema, current as avro.Schema)).toMatch(/priority/);
  });

  it('accepts a field added with a default', () => {
    const current = EVENT_SCHEMAS.OrderPlaced as { fields: Field[] };
    const changed = {
      ...current,
      fields: [...current.fields, { name: 'channel', type: ['null', 'string'], default: null }],
    };

    expect(backwardIncompatibility(changed as avro.Schema, current as avro.Schema)).toBeUndefined();
  });

  it('keeps shared/schemas.generated.ts in sync with schemas/*.avsc (run npm run schemas:gen)', () => {
    expect(readFileSync(new URL('shared/schemas.generated.ts', ROOT), 'utf8')).toBe(renderSchemasModule(ROOT));
  });

  it('keeps shared/events.generated.ts in sync with schemas/*.avsc (run npm run schemas:gen)', () => {
    expect(readFileSync(new URL('shared/events.generated.ts', ROOT), 'utf8')).toBe(renderEventsModule(ROOT));
  });

  it('types every schema field, optional unions as nullable', () => {
    // Assess: a field the generator dropped or mistyped would change what the code compiles against.
    const module = renderEventsModule(ROOT);
    expect(module).toContain('readonly paymentToken: null | string;');
    expect(module).toContain('readonly skus: readonly string[];');
    expect(module).not.toMatch(/readonly (eventId|orderId|occurredAt|correlationId):/);
  });

  it('keeps events/registry.json in sync with the schemas (run npm run schemas:gen)', () => {
    const recorded = JSON.parse(readFileSync(new URL('events/registry.json', ROOT), 'utf8'));

    expect(recorded).toEqual(currentRegistrySnapshot());
  });
});
