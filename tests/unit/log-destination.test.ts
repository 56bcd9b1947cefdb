import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LogDestination, logBatchBytes, logDestination } from '../../services/shared/logger.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));
/**
 * Turns of the event loop until the destination has completed another write:
 * the pace of the tracking thread's log when its disk or pipe is slow, with
 * no race against how fast this machine writes a file.
 */
async function untilAWriteCompletes(out: LogDestination): Promise<void> {
  const before = out.written();
  while (out.written() === before) await turn();
}
const logFile = () => join(mkdtempSync(join(tmpdir(), 'udpts-log-')), 'client.log');
/** A line of about `bytes` bytes, numbered. */
const line = (n: number, bytes = 280) => `{"n":${n},"pad":"${'x'.repeat(bytes - 20)}"}\n`;
const numbers = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l).n as number);

describe('the log destination (a real file)', () => {
  it('keeps up when each completed write meets more lines than a write used to carry', async () => {
    const path = logFile();
    const out = logDestination({ dest: path, maxBufferBytes: 2 * 1024 * 1024 });
    // 40 rounds of 512 lines (~140 KiB each, 5.6 MiB in all), as the tracking
    // thread logs a full batch of datagrams per turn, and one completed write
    // between them: at 16 KiB a write the backlog outgrew the 2 MiB buffer.
    let n = 0;
    for (let t = 0; t < 40; t++) {
      for (let i = 0; i < 512; i++) out.stream.write(line(n++));
      await untilAWriteCompletes(out);
    }
    await new Promise<void>((resolve, reject) => out.stream.flush((err) => (err ? reject(err) : resolve())));
    expect(out.dropped()).toBe(0);
    expect(numbers(path)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(out.written()).toBe(statSync(path).size);
  });

  it('at the smallest buffer allowed, still writes what fits of a burst larger than the buffer', async () => {
    const path = logFile();
    // LOG_BUFFER_BYTES at its least, and no timer to hand a batch on: only the batch's size does.
    const out = logDestination({ dest: path, maxBufferBytes: 64 * 1024, flushMs: 60_000 });
    // ~110 KiB in one turn: no write completes meanwhile. Batches of an eighth of the buffer fill it
    // and the rest is dropped; a batch as large as the buffer would not fit it, and be dropped whole.
    const total = 400;
    for (let i = 0; i < total; i++) out.stream.write(line(i));
    await new Promise<void>((resolve, reject) => out.stream.flush((err) => (err ? reject(err) : resolve())));
    const written = numbers(path);
    // Seven batches at least (the eighth may find the buffer a line short).
    expect(written.length).toBeGreaterThanOrEqual(
      Math.floor((7 * logBatchBytes(64 * 1024)) / line(total).length),
    );
    expect(written.length + out.dropped()).toBe(total);
    expect(written).toEqual([...written].sort((a, b) => a - b));
  });

  it('at the default buffer, hands lines on once 64 KiB of them wait, not before', async () => {
    const path = logFile();
    const out = logDestination({ dest: path, flushMs: 60_000 });
    // Just under 64 KiB: nothing is handed on, so nothing can be written, however long it waits.
    let n = 0;
    let bytes = 0;
    while (bytes + line(n).length < 64 * 1024) {
      bytes += line(n).length;
      out.stream.write(line(n++));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(out.written()).toBe(0);
    // The line that makes 64 KiB hands the batch on.
    out.stream.write(line(n++));
    await untilAWriteCompletes(out);
    expect(numbers(path)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('drops what does not fit its buffer, counts each line dropped, and keeps the order of the rest', async () => {
    const path = logFile();
    const out = logDestination({ dest: path, maxBufferBytes: 64 * 1024 });
    // 4,000 lines (~1.1 MiB) in one turn: far more than 64 KiB can wait.
    const total = 4000;
    for (let i = 0; i < total; i++) out.stream.write(line(i));
    await new Promise<void>((resolve, reject) => out.stream.flush((err) => (err ? reject(err) : resolve())));
    const written = numbers(path);
    expect(out.dropped()).toBeGreaterThan(0);
    expect(written.length + out.dropped()).toBe(total);
    expect(out.written()).toBe(statSync(path).size);
    expect(written).toEqual([...written].sort((a, b) => a - b));
  });
});

// Through a real pipe whose reader stalls, as a container's log shipper may at shutdown.
describe('the log destination (a pipe whose reader stalls)', () => {
  /**
   * A child logs ~1 MB through a pipe nobody reads yet, so a write of up to
   * 1 MiB is in flight and held; then it logs `tail` lines more and does
   * `then` (the shutdown paths' flushSync, or flush), and exits. This reads
   * its output only once the child says it is done, or after 3 s.
   */
  async function stalledRun(then: 'flushSync' | 'flush'): Promise<{ lines: string[]; dropped: number }> {
    const script = `
      import { logDestination } from ${JSON.stringify(new URL('../../services/shared/logger.ts', import.meta.url).pathname)};
      const out = logDestination({ dest: 1 });
      const line = (tag, n) => JSON.stringify({ tag, n, pad: 'x'.repeat(300) }) + '\\n';
      for (let i = 0; i < 300; i++) out.stream.write(line('a', i));
      await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < 3000; i++) out.stream.write(line('b', i));
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 400; i++) out.stream.write(line('c', i));
      ${then === 'flushSync' ? 'out.stream.flushSync();' : 'await new Promise((r) => { out.stream.flush(r); setTimeout(r, 500); }); out.stream.flushSync();'}
      process.stderr.write('done ' + out.dropped() + '\\n');
      process.exit(0);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pause();
    const done = await new Promise<string>((resolve) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('\n')) resolve(err);
      });
      setTimeout(() => resolve(err), 3000);
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdout.resume();
    await new Promise<void>((resolve) => child.once('close', () => resolve()));
    const dropped = Number(/done (\d+)/.exec(done)?.[1] ?? Number.NaN);
    return {
      lines: Buffer.concat(chunks)
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
      dropped,
    };
  }

  /** The lines' tags and numbers, in the order they came: every line but a last one cut by the exit must parse. */
  function order(lines: string[]): string[] {
    const last = lines.length - 1;
    return lines.flatMap((l, i) => {
      try {
        const o = JSON.parse(l) as { tag: string; n: number };
        return [`${o.tag}${o.n}`];
      } catch {
        if (i === last) return [];
        throw new Error(`a torn line: ${l.slice(0, 60)}…${l.slice(-40)}`);
      }
    });
  }
  const inOrder = (tags: string[]) =>
    tags.every((t, i) => i === 0 || compareTag(tags[i - 1] as string, t) < 0);
  const compareTag = (a: string, b: string) =>
    a[0] === b[0] ? Number(a.slice(1)) - Number(b.slice(1)) : (a[0] as string).localeCompare(b[0] as string);

  it.each(['flushSync', 'flush'] as const)(
    'never writes beside a write in flight (%s): lines are dropped and counted, never torn or reordered',
    async (then) => {
      const { lines, dropped } = await stalledRun(then);
      const tags = order(lines);
      expect(inOrder(tags)).toBe(true);
      expect(tags[0]).toBe('a0');
      // What the exit cut short or never wrote is what was counted dropped, or less: never written out of turn.
      expect(tags.length + dropped).toBeLessThanOrEqual(3700);
      expect(dropped).toBeGreaterThan(0);
    },
  );
});

// A pipe whose reader is gone (EPIPE), as when a log shipper dies or output goes through `| head`.
describe('the log destination (a pipe whose reader is gone)', () => {
  it('drops and counts what it cannot write, and flushing never hangs: the process can exit', async () => {
    const script = `
      import { logDestination } from ${JSON.stringify(new URL('../../services/shared/logger.ts', import.meta.url).pathname)};
      const out = logDestination({ dest: 1 });
      const line = (n) => JSON.stringify({ n, pad: 'x'.repeat(300) }) + '\\n';
      for (let i = 0; i < 1000; i++) out.stream.write(line(i));
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 1000; i < 1100; i++) out.stream.write(line(i));
      out.stream.flush(() => {
        process.stderr.write('flushed ' + out.dropped() + '\\n');
        process.exit(0);
      });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy(); // the reader is gone before the first line
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
    const code = await new Promise<number | null>((done) => child.once('close', (c) => done(c)));
    clearTimeout(killer);
    expect(code).toBe(0);
    const dropped = Number(/flushed (\d+)/.exec(err)?.[1]);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThanOrEqual(1100);
  });
});
