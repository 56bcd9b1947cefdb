/** What the benchmark ran on, for the report. */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  rmemMax: number | null;
  /** The kernel's DAMON monitors running (kdamond threads), described; [] for none. */
  damon: string[];
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
    damon: describeDamon(),
  };
}

/** Where DAMON's sysfs interface lists the monitors started through it. */
const DAMON_ADMIN = '/sys/kernel/mm/damon/admin/kdamonds';

/** A directory's entries named by a number (pids, thread ids, DAMON's indexes); none when it cannot be read. */
export function numberedEntries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
}

export interface Kdamond {
  pid: number;
  /** Its thread name, `kdamond.N`. */
  name: string;
}

/**
 * The kernel's DAMON threads (`kdamond.N`), found by name in /proc: a
 * platform may run one to reclaim memory. It samples the pages of every
 * process, the monitor's too, every few hundred milliseconds, and on some
 * machines each round stalls the monitor's threads (docs/PERFORMANCE.md).
 */
export function kdamonds(): Kdamond[] {
  return numberedEntries('/proc').flatMap((entry) => {
    const name = read(`/proc/${entry}/comm`)?.trim();
    return name?.startsWith('kdamond') === true ? [{ pid: Number(entry), name }] : [];
  });
}

/**
 * Each running kdamond with what its sysfs says it does (sampling interval,
 * schemes' actions), found there by its pid: the N of `kdamond.N` need not be
 * its sysfs index. One started otherwise (a module such as DAMON_RECLAIM), or
 * sysfs not readable (it is root's), is named alone. Kernel threads are not
 * seen from inside a container's PID namespace: there this says none.
 */
function describeDamon(): string[] {
  const indexes = numberedEntries(DAMON_ADMIN);
  return kdamonds().map(({ pid, name }) => {
    const index = indexes.find((i) => read(`${DAMON_ADMIN}/${i}/pid`)?.trim() === String(pid));
    if (index === undefined) return `${name} (not found in DAMON's sysfs, or it is not readable)`;
    const context = `${DAMON_ADMIN}/${index}/contexts/0`;
    const sampleUs = Number(read(`${context}/monitoring_attrs/intervals/sample_us`)?.trim());
    const ops = read(`${context}/operations`)?.trim() ?? '?';
    const schemes = Number(read(`${context}/schemes/nr_schemes`)?.trim() ?? 0);
    const actions = Array.from(
      { length: schemes },
      (_, i) => read(`${context}/schemes/${i}/action`)?.trim() ?? '?',
    );
    return `${name} (${ops}, sampling every ${sampleUs / 1000} ms, schemes: ${actions.join(', ') || 'none'})`;
  });
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
