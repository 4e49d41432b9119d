import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JsonSchemaValidator, type JsonSchema } from './JsonSchemaValidator.ts';

const schema = JSON.parse(readFileSync(new URL('../../docs/connectivity.schema.json', import.meta.url), 'utf8')) as JsonSchema;
const valid = () => ({
  tool: 'callwire-connectivity',
  version: 1,
  client: 'cli',
  server: 'https://call.example.com',
  userAgent: 'x',
  startedAt: '2026-11-22T14:00:00.000Z',
  durationMs: 10,
  verdict: 'works',
  summary: 'Calls will work.',
  checks: [
    { name: 'turn.udp', title: 'TURN', status: 'pass', details: 'ok', advice: '', durationMs: 3, metrics: { rttMs: 1.5, relayed: '1.2.3.4:5', x: null } },
  ],
});

describe('JsonSchemaValidator with docs/connectivity.schema.json', () => {
  const v = new JsonSchemaValidator(schema);
  it('accepts a valid report', () => expect(v.validate(valid())).toEqual([]));
  it('names every violation', () => {
    const r = valid() as Record<string, unknown>;
    r['verdict'] = 'maybe';
    r['extra'] = 1;
    r['durationMs'] = 1.5;
    delete r['summary'];
    const c = (r['checks'] as Record<string, unknown>[])[0]!;
    c['status'] = 'ok';
    c['name'] = 'turn.quic';
    c['metrics'] = { bad: { nested: true } };
    const errors = v.validate(r);
    expect(errors).toHaveLength(7);
    expect(errors).toEqual(
      expect.arrayContaining([
        '$: missing "summary"',
        '$: unexpected property "extra"',
        '$.checks[0].metrics.bad: must be number or string or boolean or null',
        expect.stringMatching(/^\$\.checks\[0\]\.name: must be one of "browser\.webrtc"/),
        '$.checks[0].status: must be one of "pass", "warn", "fail"',
        '$.durationMs: must be integer',
        '$.verdict: must be one of "works", "works-tcp-only", "works-limited", "fails"',
      ]),
    );
    expect(v.validate({ ...valid(), checks: [] })).toEqual(['$.checks: fewer than 1 items']);
    expect(v.validate({ ...valid(), server: 'ftp://x', startedAt: 'yesterday' })).toEqual([
      '$.server: does not match ^https?://',
      expect.stringMatching(/^\$\.startedAt: does not match/),
    ]);
  });
  it('refuses schemas with keywords it does not check', () => {
    expect(() => new JsonSchemaValidator({ type: 'object', properties: { a: { oneOf: [] } } })).toThrow(/unsupported JSON Schema keyword "oneOf"/);
  });
});
