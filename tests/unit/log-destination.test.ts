import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LogDestination, logDestination } from '../../services/shared/logger.js';

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
