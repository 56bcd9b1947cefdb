import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable } from '../../scripts/config-table.js';
import { errorTable } from '../../scripts/error-table.js';
import { clientEnv } from '../../services/client/config.js';
import { serverEnv } from '../../services/server/config.js';
import { LOG_EVENT_NAMES } from '../../services/shared/log-schema.js';
import {
  clientExceptionReasonSchema,
  serverExceptionReasonSchema,
} from '../../services/shared/vocabulary.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const logsDoc = readFileSync(new URL('../../docs/logs.md', import.meta.url), 'utf8');

/** The table that follows `heading` in the README: its lines up to the first that is not a row. */
function readmeTableAfter(heading: string): string {
  const lines = readme.slice(readme.indexOf(heading)).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines.slice(start, end).join('\n');
}

describe('documentation stays in step with the code', () => {
  it('README configuration tables match the config schemas', () => {
    expect(readme).toContain(configTable(serverEnv));
    expect(readme).toContain(configTable(clientEnv));
  });
  it("README's error table is the declaration of the HTTP server's error codes", () => {
    const heading = 'Every error the HTTP server sends has this one JSON shape';
    expect(readme).toContain(heading);
    expect(readmeTableAfter(heading)).toBe(errorTable());
  });
  it('docs/logs.md documents every log event and every reason code', () => {
    for (const event of LOG_EVENT_NAMES) expect(logsDoc).toMatch(new RegExp(`^### \`${event}\``, 'm'));
    for (const reason of [...serverExceptionReasonSchema.options, ...clientExceptionReasonSchema.options]) {
      expect(logsDoc).toContain(`| \`${reason}\` |`);
    }
  });
  it('README first screen has the two set-up commands', () => {
    const firstScreen = readme.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toContain('docker compose up --build');
    expect(firstScreen).toContain('npm test');
  });
});
