/**
 * Shell recipes as the README gives them, run as a user would type them, so
 * that the text and its test cannot drift apart.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './compose.js';

/**
 * Every command in README.md that matches `pattern`: lines of fenced code
 * blocks and inline code spans of the prose, verbatim. Synchronous, so that
 * a test file can make one test per command.
 */
export function readmeCommands(pattern: RegExp): string[] {
  const text = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const commands: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) {
      fenced = !fenced;
      continue;
    }
    const candidates = fenced ? [line] : [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    commands.push(...candidates.filter((c) => pattern.test(c)));
  }
  return commands;
}

export interface RecipeRun {
  /** Complete lines the command wrote to stdout. */
  lines: string[];
  stderr: string;
  /** Exit code; null when the time limit stopped it. */
  code: number | null;
  /** Why it ended: on its own (perhaps after `end`), or at the time limit. */
  ended: 'exit' | 'timeout';
}

export interface RunningRecipe {
  /** Settles once the command has ended. */
  done: Promise<RecipeRun>;
  /**
   * SIGTERM to the command's processes named `name`, the others left to
   * finish: `end('docker')` ends a `docker logs -f`, and the rest of its
   * pipeline reads to the end of its input, writes what it held back
   * (jq buffers its output into a pipe) and exits with its own status.
   */
  end(name: string): Promise<void>;
}

/** Pids of a process group's members named `name` (Linux /proc). */
async function groupMembers(group: number, name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // /proc/<pid>/stat: pid (comm) state ppid pgrp ...; comm may hold spaces.
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const [, , pgrp] = stat.slice(close + 2).split(' ');
    if (open >= 0 && stat.slice(open + 1, close) === name && Number(pgrp) === group) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Starts `command` with `sh -c` in REPO_ROOT, in a process group of its own.
 * It ends on its own, through `end`, or after `timeoutMs`, when the whole
 * group is killed.
 */
export function startRecipe(
  command: string,
  options: { env: Record<string, string>; timeoutMs: number },
): RunningRecipe {
  const child = spawn('sh', ['-c', command], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const group = child.pid as number;
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // The group has already gone.
    }
  }, options.timeoutMs);
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l.length > 0));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<RecipeRun>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ lines, stderr, code: timedOut ? null : code, ended: timedOut ? 'timeout' : 'exit' });
    });
  });
  return {
    done,
    async end(name) {
      const pids = await groupMembers(group, name);
      if (pids.length === 0) throw new Error(`no process named ${name} in: ${command}`);
      for (const pid of pids) process.kill(pid, 'SIGTERM');
    },
  };
}
