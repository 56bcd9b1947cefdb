import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSize, readConfigFile } from '../../services/shared/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'udpts-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const cap = (maxBytes: number) => ({ maxBytes, kind: 'a test file' });

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('readConfigFile', () => {
  it('reads a regular file up to its cap, and through a symbolic link (a Kubernetes secret)', () => {
    const path = file('ok', 'x'.repeat(100));
    expect(readConfigFile(path, cap(100)).toString()).toBe('x'.repeat(100));
    expect(readConfigFile(file('empty', ''), cap(100)).length).toBe(0);
    const link = join(dir, 'link');
    symlinkSync(path, link);
    expect(readConfigFile(link, cap(1000)).length).toBe(100);
  });

  it('reads a file larger than its first buffer whole', () => {
    const content = Buffer.alloc(100_000, 'y');
    expect(readConfigFile(file('large', content), cap(100_000)).equals(content)).toBe(true);
  });

  it('refuses a regular file over its cap, saying the cap', () => {
    const path = file('over', 'x'.repeat(101));
    expect(thrown(() => readConfigFile(path, cap(100)))).toBe(
      'larger than 100 bytes, the most a test file may hold',
    );
    expect(thrown(() => readConfigFile(path, { maxBytes: 64, kind: 'a token file' }))).toBe(
      'larger than 64 bytes, the most a token file may hold',
    );
  });

  it('refuses a file whose size says 0 but holds more than its cap (as /proc files do), reading cap + 1 bytes', () => {
    expect(thrown(() => readConfigFile('/proc/self/status', cap(10)))).toBe(
      'larger than 10 bytes, the most a test file may hold',
    );
    expect(readConfigFile('/proc/self/status', cap(1024 * 1024)).toString()).toMatch(/^Name:/);
  });

  it('refuses what is not a regular file at once: /dev/zero, a directory, a FIFO nobody writes to', () => {
    expect(thrown(() => readConfigFile('/dev/zero', cap(4096)))).toBe(
      'a character device, not a regular file',
    );
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    expect(thrown(() => readConfigFile(folder, cap(4096)))).toBe('a directory, not a regular file');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(thrown(() => readConfigFile(fifo, cap(4096)))).toBe('a FIFO, not a regular file');
  });

  it("passes the system's error on for a file it cannot open", () => {
    const missing = join(dir, 'missing');
    expect(thrown(() => readConfigFile(missing, cap(4096)))).toBe(
      `ENOENT: no such file or directory, open '${missing}'`,
    );
  });

  it('writes sizes as a setting would', () => {
    expect(formatSize(4096)).toBe('4 KiB');
    expect(formatSize(64 * 1024)).toBe('64 KiB');
    expect(formatSize(32 * 1024 * 1024)).toBe('32 MiB');
    expect(formatSize(10_000 * 1024)).toBe('10000 KiB');
    expect(formatSize(100)).toBe('100 bytes');
  });
});
