/**
 * Where the machine's CPU went during a window, from /proc (Linux): how busy
 * all its cores were, and for each group of threads the CPU it used and the
 * time it spent runnable but waiting for a core (the scheduler's run-queue
 * wait, /proc/PID/task/TID/schedstat). A thread that waits for a core is
 * late however fast its code is: that is what tells a slow path from a
 * machine with no core to spare.
 */
import { numberedEntries, read } from './machine.js';

/** The threads of `pid` that `pick` accepts (by thread id and name); all of them without it. */
export interface ThreadGroup {
  label: string;
  pid: number;
  pick?: (tid: number, comm: string) => boolean;
}

interface GroupTimes {
  runNs: number;
  waitNs: number;
  threads: number;
}

export interface CpuSnapshot {
  atNs: bigint;
  /** /proc/stat's first line: jiffies by kind, all cores. */
  machine: number[];
  groups: Map<string, GroupTimes>;
}

export interface GroupShare {
  label: string;
  threads: number;
  /** CPU used, in cores (1 = one core all the window). */
  cores: number;
  /** Time runnable but not running, summed over the group's threads, per second of window. */
  waiting: number;
}

export interface CpuShare {
  seconds: number;
  cores: number;
  /** Share of all cores busy (not idle, not waiting for I/O), 0..1. */
  busy: number;
  /** Share of all cores taken by the hypervisor from this machine, 0..1. */
  steal: number;
  groups: GroupShare[];
}

function groupTimes(group: ThreadGroup): GroupTimes {
  const times: GroupTimes = { runNs: 0, waitNs: 0, threads: 0 };
  // A process gone by now has no threads: the group shows none.
  for (const tid of numberedEntries(`/proc/${group.pid}/task`)) {
    const comm = read(`/proc/${group.pid}/task/${tid}/comm`)?.trim() ?? '';
    if (group.pick !== undefined && !group.pick(Number(tid), comm)) continue;
    const fields = read(`/proc/${group.pid}/task/${tid}/schedstat`)?.trim().split(' ');
    if (fields === undefined || fields.length < 2) continue;
    times.runNs += Number(fields[0]);
    times.waitNs += Number(fields[1]);
    times.threads++;
  }
  return times;
}

export function cpuSnapshot(groups: ThreadGroup[]): CpuSnapshot {
  const line = read('/proc/stat')?.split('\n')[0] ?? '';
  return {
    atNs: process.hrtime.bigint(),
    machine: line.split(/\s+/).slice(1).map(Number),
    groups: new Map(groups.map((g) => [g.label, groupTimes(g)])),
  };
}

/** A thread that ended between the snapshots takes its time with it: its group shows less than it used (never below 0). */
export function cpuShare(from: CpuSnapshot, to: CpuSnapshot, cores: number): CpuShare {
  const seconds = Number(to.atNs - from.atNs) / 1e9;
  const d = to.machine.map((v, i) => v - (from.machine[i] ?? 0));
  // user nice system idle iowait irq softirq steal
  const total = d.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (d[3] ?? 0) + (d[4] ?? 0);
  const groups: GroupShare[] = [];
  for (const [label, end] of to.groups) {
    const start = from.groups.get(label) ?? { runNs: 0, waitNs: 0, threads: 0 };
    groups.push({
      label,
      threads: end.threads,
      cores: Math.max(0, end.runNs - start.runNs) / 1e9 / seconds,
      waiting: Math.max(0, end.waitNs - start.waitNs) / 1e9 / seconds,
    });
  }
  return {
    seconds,
    cores,
    busy: total > 0 ? (total - idle) / total : 0,
    steal: total > 0 ? (d[7] ?? 0) / total : 0,
    groups,
  };
}
