/** What the benchmark ran on, for the report. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  rmemMax: number | null;
}

/** A /proc or /etc file's text, or null when it cannot be read. */
export function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export function describeMachine(): Machine {
  const release = read('/etc/os-release');
  const pretty = release === null ? null : /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1];
  const rmem = read('/proc/sys/net/core/rmem_max');
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: pretty ?? `${os.type()} ${os.release()}`,
    kernel: os.release(),
    node: process.version,
    rmemMax: rmem === null ? null : Number(rmem.trim()),
  };
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
