/**
 * rsyslog's `imudp` as a reference receiver (issue 12): `rsyslogd -n` with a
 * private configuration, one input thread and one queue worker, writing a
 * JSON line per datagram to a file with `omfile`. It is driven by the same C
 * sender as the Node receivers and measured the same way: datagrams handled
 * (lines in its file), CPU of the whole process (all threads, from
 * /proc/PID/stat) and RSS. It answers the ladder's probes like a forked
 * child does.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Probe } from '../children/ipc.js';
import type { Child } from './children.js';
import { sleep } from './stats.js';

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PAGE_BYTES = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;
/** Past this size the output file is emptied after counting (it grows ~40 MB a second at 150,000/s). */
const TRUNCATE_AT_BYTES = 256 * 1024 * 1024;

export function rsyslogdPath(): string {
  for (const candidate of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'])
    if (existsSync(candidate)) return candidate;
  throw new Error('rsyslogd not found (Debian package rsyslog; .ci/provision.sh installs it)');
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

function configuration(dir: string, port: number, outFile: string): string {
  return `# bench/lib/rsyslog.ts: one imudp thread, one queue worker, a JSON line per datagram to a file.
global(workDirectory="${dir}" maxMessageSize="2k")
main_queue(queue.type="FixedArray" queue.size="100000" queue.workerThreads="1")
module(load="imudp" threads="1")
template(name="benchJson" type="list" option.jsonf="on") {
  property(outname="time" name="timegenerated" dateFormat="rfc3339" format="jsonf")
  property(outname="from" name="fromhost-ip" format="jsonf")
  property(outname="msg" name="rawmsg" format="jsonf")
}
ruleset(name="bench") {
  action(type="omfile" file="${outFile}" template="benchJson")
}
input(type="imudp" address="127.0.0.1" port="${port}" ruleset="bench" rcvbufSize="4m")
`;
}

function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / CLOCK_TICKS_PER_S;
}

function processRssBytes(pid: number): number {
  const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  return pages * PAGE_BYTES;
}

/** Starts rsyslogd on a free loopback port, writing into `dir`. */
export async function startRsyslog(dir: string): Promise<Child> {
  const binary = rsyslogdPath();
  const port = await freeUdpPort();
  const outFile = join(dir, 'rsyslog.log');
  const confFile = join(dir, 'rsyslog.conf');
  const pidFile = join(dir, 'rsyslog.pid');
  writeFileSync(outFile, '');
  writeFileSync(confFile, configuration(dir, port, outFile));
  execFileSync(binary, ['-N1', '-f', confFile], { stdio: 'pipe' }); // validates the configuration
  const child: ChildProcess = spawn(binary, ['-n', '-f', confFile, '-i', pidFile], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const pid = child.pid as number;

  // Lines counted so far, read on from where the last probe stopped.
  let counted = 0;
  let offset = 0;
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  function countNewLines(): number {
    const fd = openSync(outFile, 'r');
    try {
      if (fstatSync(fd).size < offset) offset = 0;
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, offset);
        if (n === 0) break;
        for (let at = chunk.indexOf(10); at !== -1 && at < n; at = chunk.indexOf(10, at + 1)) counted++;
        offset += n;
      }
      if (offset > TRUNCATE_AT_BYTES) {
        truncateSync(outFile, 0);
        offset = 0;
      }
    } finally {
      closeSync(fd);
    }
    return counted;
  }

  // Ready once it takes datagrams: a probe datagram shows up as a line.
  const probeSocket = createSocket('udp4');
  const deadline = Date.now() + 10_000;
  while (countNewLines() === 0) {
    if (exited) throw new Error('rsyslogd exited at start');
    if (Date.now() > deadline) throw new Error('rsyslogd did not write a line within 10 s');
    probeSocket.send('bench: rsyslog ready?', port, '127.0.0.1');
    await sleep(100);
  }
  probeSocket.close();
  await sleep(200);
  countNewLines();
  const base = counted;

  const probe = async (): Promise<Probe> => ({
    type: 'probe',
    received: countNewLines() - base,
    cpuUs: processCpuUs(pid),
    rssBytes: processRssBytes(pid),
    heapTotalBytes: 0,
    heapUsedBytes: 0,
    externalBytes: 0,
    logDropped: 0,
  });
  return {
    name: 'rsyslog',
    pid,
    ready: { type: 'ready', udpPort: port, httpPort: 0, recvBufferBytes: 0 }, // rcvbufSize="4m" asked; not read back
    probe,
    flush: async () => {},
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(5000)]);
      if (!exited) child.kill('SIGKILL');
    },
    kill: () => {
      if (!exited) child.kill('SIGKILL');
    },
  };
}
