import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Monitor } from '../../services/client/monitor.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackMonitor } from '../support/monitor.js';

interface Response {
  description: string;
  content?: { 'application/json': { schema: { properties?: Record<string, unknown> } } };
}
interface Operation {
  parameters?: Array<{ name: string; in: string; schema: Record<string, unknown> }>;
  responses: Record<string, Response>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

describe('the OpenAPI document', () => {
  let monitor: Monitor;
  let doc: Document;
  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const),
    );
  const operation = (name: string) => operations().find(([n]) => n === name)?.[1] as Operation;

  beforeAll(async () => {
    let base: string;
    ({ monitor, base } = await startLoopbackMonitor(captureLogs('client').logger));
    doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as Document;
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  it.each([
    ['POST /api/silences', ['201', '400', '401', '403', '409', '413', '415', 'default']],
    ['DELETE /api/silences/{id}', ['204', '400', '401', '403', '404', '413', '414', '415', 'default']],
    ['POST /api/notifications/test', ['200', '400', '401', '403', '404', '409', '413', '415', 'default']],
    [
      'DELETE /api/senders/{source}',
      ['204', '400', '401', '403', '404', '409', '413', '414', '415', 'default'],
    ],
  ])(
    'lists every answer of the write %s: a body too large (413) or of another type (415) among them',
    (name, statuses) => {
      expect(Object.keys(operation(name).responses).sort()).toEqual(statuses);
    },
  );

  it('gives every operation the errors any request may get, as its default answer', () => {
    for (const [name, op] of operations()) {
      expect(op.responses.default?.description, name).toMatch(/400 .* 408 .* 413 .* 431 .* 500 .* 503 /);
    }
  });

  it('describes each error, whatever the operation, with the one error shape', () => {
    for (const [name, op] of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        // /readyz answers a probe, its 503 no error of the API.
        if ((status !== 'default' && Number(status) < 400) || name === 'GET /readyz') continue;
        expect(
          Object.keys(response.content?.['application/json'].schema.properties ?? {}),
          `${name} ${status}`,
        ).toEqual(['error', 'parameter', 'message']);
      }
    }
  });

  it('describes each limit as the integer it is read as, sent in decimal digits', () => {
    for (const name of ['GET /api/senders', 'GET /api/datagrams', 'GET /api/senders/{source}/incidents']) {
      const limit = operation(name).parameters?.find((p) => p.name === 'limit');
      expect(limit, name).toMatchObject({ in: 'query', schema: { type: 'integer', minimum: 1 } });
    }
  });
});
