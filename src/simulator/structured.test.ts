import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { z } from 'zod';
import { createSimulator } from './index.ts';
import { outputFormatProblem, outputSchemaOf, valueForSchema } from './structured.ts';

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);

function assertValid(schema: object, value: unknown): void {
  const validate = ajv.compile(schema);
  assert.ok(
    validate(value),
    `${JSON.stringify(value)} fails ${JSON.stringify(schema)}: ${ajv.errorsText(validate.errors)}`,
  );
}

/** JSON schemas built from the keywords structured outputs accept. */
const schemaArb: fc.Arbitrary<object> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    // Strings: a length range, a format, or a pattern (combinations the API's users write).
    fc.oneof(
      fc.record({
        type: fc.constant('string'),
        minLength: fc.integer({ min: 0, max: 20 }),
        maxLength: fc.integer({ min: 20, max: 40 }),
      }),
      fc.record({
        type: fc.constant('string'),
        format: fc.constantFrom(
          'date-time',
          'date',
          'time',
          'email',
          'uri',
          'uuid',
          'ipv4',
          'ipv6',
          'hostname',
        ),
      }),
      fc.record({
        type: fc.constant('string'),
        pattern: fc.constantFrom('^[a-z]+$', '^[A-Z]{2}-\\d{3}$', '^\\d+$', '.*', '^[a-z0-9_]+$'),
      }),
    ),
    fc.record(
      {
        type: fc.constantFrom('integer', 'number'),
        minimum: fc.integer({ min: -100, max: 100 }),
        exclusiveMinimum: fc.integer({ min: -100, max: 100 }),
        maximum: fc.integer({ min: 101, max: 1000 }),
        multipleOf: fc.constantFrom(1, 2, 5, 10),
      },
      { requiredKeys: ['type'] },
    ),
    fc.constant({ type: 'boolean' }),
    fc.constant({ type: 'null' }),
    fc.record({ enum: fc.uniqueArray(fc.oneof(fc.string(), fc.integer()), { minLength: 1, maxLength: 4 }) }),
    fc.record({ const: fc.jsonValue({ maxDepth: 1 }) }),
    fc.constant({ type: ['string', 'null'] }),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('object'), tie('array'), tie('anyOf')),
  object: fc
    .dictionary(fc.stringMatching(/^[a-z][a-z_]{0,8}$/), tie('node'), { maxKeys: 4 })
    .chain((properties) =>
      fc.record({
        type: fc.constant('object'),
        properties: fc.constant(properties),
        required: fc.subarray(Object.keys(properties)),
        additionalProperties: fc.constant(false),
      }),
    ),
  array: fc.record(
    {
      type: fc.constant('array'),
      items: tie('node'),
      minItems: fc.integer({ min: 0, max: 3 }),
      maxItems: fc.integer({ min: 3, max: 6 }),
    },
    { requiredKeys: ['type', 'items'] },
  ),
  anyOf: fc.record({ anyOf: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
})).object;

describe('valueForSchema', () => {
  it('validates against generated schemas of the keywords structured outputs accept (property)', () => {
    fc.assert(
      fc.property(schemaArb, (schema) => {
        assertValid(schema, valueForSchema(schema));
      }),
      { numRuns: 400 },
    );
  });

  it('validates against what zod emits for a typical generateObject schema, and is deterministic', () => {
    const Recipe = z.object({
      name: z.string().min(3).max(80),
      id: z.uuid(),
      author: z.email(),
      created: z.iso.datetime(),
      servings: z.int().min(1).max(12),
      rating: z.number().gt(0).lte(5),
      tags: z
        .array(z.enum(['quick', 'vegan', 'spicy']))
        .min(2)
        .max(3),
      ingredients: z.array(z.object({ item: z.string(), grams: z.number().multipleOf(5).positive() })).min(1),
      notes: z.string().nullable(),
      source: z.union([z.url(), z.literal('family')]).optional(),
      nutrition: z.record(z.string(), z.number()),
      steps: z.tuple([z.string(), z.string()]),
    });
    const schema = z.toJSONSchema(Recipe, { target: 'draft-2020-12' });
    const value = valueForSchema(schema);
    assertValid(schema, value);
    assert.deepEqual(Recipe.parse(value), value);
    assert.equal(JSON.stringify(valueForSchema(schema)), JSON.stringify(value));
  });

  it('follows $ref into $defs, merges allOf, and ends recursive schemas', () => {
    const schema = {
      $defs: {
        node: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            children: { type: 'array', items: { $ref: '#/$defs/node' } },
          },
          required: ['name', 'children'],
        },
      },
      allOf: [{ $ref: '#/$defs/node' }, { properties: { root: { const: true } }, required: ['root'] }],
    };
    assertValid(schema, valueForSchema(schema));
  });
});

describe('structured-output requests', () => {
  const schema = {
    type: 'object',
    properties: { city: { type: 'string' }, temperature_c: { type: 'number', minimum: -90, maximum: 60 } },
    required: ['city', 'temperature_c'],
    additionalProperties: false,
  };
  const body = (extra: object) => ({
    model: 'claude-haiku-4-5',
    max_tokens: 256,
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    ...extra,
  });

  it('finds the schema in output_config.format and in the older output_format', () => {
    assert.deepEqual(
      outputSchemaOf(body({ output_config: { format: { type: 'json_schema', schema } } })),
      schema,
    );
    assert.deepEqual(outputSchemaOf(body({ output_format: { type: 'json_schema', schema } })), schema);
    assert.equal(outputSchemaOf(body({ output_config: { effort: 'low' } })), undefined);
    assert.equal(
      outputFormatProblem(body({ output_config: { format: { type: 'json' } } })),
      "output_config.format.type: Input should be 'json_schema'",
    );
    assert.equal(
      outputFormatProblem(body({ output_format: { type: 'json_schema' } })),
      'output_format.schema: Field required',
    );
  });

  it('the simulator answers JSON that validates, streamed or not; a malformed format is a 400', async () => {
    const { app, state } = createSimulator({ profile: 'perf' });
    try {
      const headers = {
        'x-api-key': 'k',
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      };
      for (const extra of [
        { output_config: { format: { type: 'json_schema', schema } } },
        { output_format: { type: 'json_schema', schema } },
      ]) {
        const res = await app.inject({ method: 'POST', url: '/v1/messages', headers, payload: body(extra) });
        assert.equal(res.statusCode, 200, res.body);
        const message = res.json();
        assert.equal(message.content.length, 1);
        assertValid(schema, JSON.parse(message.content[0].text));
        assert.equal(message.stop_reason, 'end_turn');
      }
      const streamed = await app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers,
        payload: body({ stream: true, output_config: { format: { type: 'json_schema', schema } } }),
      });
      const text = streamed.body
        .split('\n')
        .filter((l) => l.startsWith('data: ') && l.includes('text_delta'))
        .map((l) => JSON.parse(l.slice(6)).delta.text)
        .join('');
      assertValid(schema, JSON.parse(text));
      const bad = await app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers,
        payload: body({ output_config: { format: { type: 'json_schema' } } }),
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.message, 'output_config.format.schema: Field required');
      assert.equal(state.requests.all().length, 4);
    } finally {
      await app.close();
    }
  });
});
