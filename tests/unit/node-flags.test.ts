/**
 * The client's Node flags are declared once (CLIENT_NODE_FLAGS); the image's
 * CMD and `npm run start:client`, which cannot import them, say the same,
 * and this Node accepts them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIENT_NODE_FLAGS } from '../../services/client/node-flags.js';

const ROOT = join(import.meta.dirname, '../..');
const COMMAND = ['node', ...CLIENT_NODE_FLAGS, 'dist/client/main.js'];

describe('the client runs with CLIENT_NODE_FLAGS wherever it is started', () => {
  it("Dockerfile.client's CMD is node, the flags, then the entry point", () => {
    const cmd = readFileSync(join(ROOT, 'Dockerfile.client'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('CMD '))
      .at(-1);
    expect(JSON.parse(cmd?.slice('CMD '.length) ?? 'null')).toEqual(COMMAND);
  });

  it('npm run start:client runs the same command', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['start:client']).toBe(COMMAND.join(' '));
  });

  it('this Node accepts the flags (an unknown V8 flag is refused at start)', () => {
    expect(
      execFileSync(process.execPath, [...CLIENT_NODE_FLAGS, '-e', 'console.log("ok")'], {
        encoding: 'utf8',
        timeout: 30_000,
      }),
    ).toBe('ok\n');
    // The check itself: a misspelt flag makes node exit with an error.
    expect(() =>
      execFileSync(process.execPath, ['--no-memory-reducr', '-e', '0'], { stdio: 'ignore', timeout: 30_000 }),
    ).toThrow();
  });
});
