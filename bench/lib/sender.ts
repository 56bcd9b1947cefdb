/** Builds and runs the C load generator (bench/udp-sender.c). */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface SendOptions {
  port: number;
  rate: number;
  count: number;
  /** Hard stop for the sender, whatever it has sent. */
  maxSeconds: number;
  sources: number;
  seqStart: number;
  boot: string;
  /** Sockets (source ports) the batches go out from, round-robin; 1 if absent. */
  sockets?: number;
  /** Told the sender's process id once it is started. */
  onStart?: (pid: number) => void;
}

export interface SendResult {
  sent: number;
  bytes: number;
  elapsedS: number;
  rate: number;
  batches: number;
  errors: number;
  timedOut: boolean;
}

/** Compiles the sender into `outDir` unless an up-to-date binary is there. */
export function buildSender(benchDir: string, outDir: string): string {
  const source = join(benchDir, 'udp-sender.c');
  const binary = join(outDir, 'udp-sender');
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  const errors: string[] = [];
  for (const cc of [process.env.CC ?? 'cc', 'gcc', 'clang']) {
    try {
      execFileSync(cc, ['-O2', '-Wall', '-o', binary, source], { stdio: ['ignore', 'inherit', 'pipe'] });
      return binary;
    } catch (err) {
      errors.push(`${cc}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    `cannot build the C sender (a C compiler is needed, e.g. apt-get install gcc):\n${errors.join('\n')}`,
  );
}

export function runSender(binary: string, o: SendOptions): Promise<SendResult> {
  const args = [
    '127.0.0.1',
    String(o.port),
    String(o.rate),
    String(o.count),
    String(o.maxSeconds),
    String(o.sources),
    String(o.seqStart),
    o.boot,
    String(o.sockets ?? 1),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.pid !== undefined) o.onStart?.(child.pid);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    // The sender stops itself at maxSeconds; this is the guard behind that guard.
    const guard = setTimeout(() => child.kill('SIGKILL'), (o.maxSeconds + 5) * 1000);
    child.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (code !== 0) return reject(new Error(`udp-sender exited with ${code ?? signal}: ${out}`));
      try {
        resolve(JSON.parse(out) as SendResult);
      } catch {
        reject(new Error(`udp-sender printed no result: ${out}`));
      }
    });
  });
}
