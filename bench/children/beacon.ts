/**
 * The beacon case: the real beacon (`startBeacon`, logging one `send` line
 * per beat to a file) at a short interval, sending to a socket on loopback
 * in this process. For every beat it records when the schedule tick ran
 * (the beacon's own stats) and when the datagram arrived. Forked by
 * bench/run.ts; bounded: it stops at slot BENCH_BEATS (start + BENCH_BEATS x
 * interval) or at its deadline.
 */
import { createSocket } from 'node:dgram';
import { startBeacon } from '../../services/shared/beacon/beacon.js';
import { createLogger, logDestination } from '../../services/shared/logger.js';

export interface BeatRecord {
  seq: number;
  /** The schedule slot of the tick that sent it (seq and slot differ once slots were skipped). */
  slot: number;
  /** performance.now() when the tick that sent it ran. */
  tickMs: number;
  /** The beacon's own lateness figure for that tick. */
  latenessMs: number;
  /** performance.now() when the datagram arrived here. */
  arrivedMs: number;
}

export interface BeaconResult {
  type: 'beacon';
  intervalMs: number;
  /** The schedule's start: the first tick minus its lateness. */
  startMs: number;
  beats: BeatRecord[];
  /** Datagrams whose tick could not be matched (another tick ran before arrival). */
  unmatched: number;
  /** CPU time of this process while the beacon ran (user + system), microseconds. */
  cpuUs: number;
}

const beats = Number(process.env.BENCH_BEATS ?? 2000);
const intervalMs = Number(process.env.BENCH_INTERVAL_MS ?? 10);
const logFile = process.env.BENCH_LOG_FILE;
if (logFile === undefined) throw new Error('BENCH_LOG_FILE is not set');

// As the server's main.ts sets up stdout, but to a file.
const out = logDestination({ dest: logFile });
const logger = createLogger({ service: 'server', level: 'info', destination: out.stream });

const sink = createSocket('udp4');
await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
const records: BeatRecord[] = [];
let unmatched = 0;
let startMs = Number.NaN;
const deadline = setTimeout(() => finish(), (beats + 1) * intervalMs * 2 + 5000);

const cpuStart = process.cpuUsage();
const beacon = startBeacon(
  {
    intervalMs,
    targets: [{ host: '127.0.0.1', port: sink.address().port }],
    source: 'bench-beacon',
    signer: null,
    sendBye: false,
  },
  logger,
);
const stats = beacon.stats();
startMs = stats.lastTickPerfMs - stats.lastLatenessMs;

sink.on('message', (bytes) => {
  const arrivedMs = performance.now();
  const seq = (JSON.parse(bytes.toString()) as { seq: number }).seq;
  const s = beacon.stats();
  if (s.nextSeq !== seq + 1) {
    unmatched++;
    return;
  }
  const slot = Math.round((s.lastTickPerfMs - s.lastLatenessMs - startMs) / intervalMs);
  records.push({ seq, slot, tickMs: s.lastTickPerfMs, latenessMs: s.lastLatenessMs, arrivedMs });
  if (slot >= beats) void finish();
});

let finished = false;
async function finish(): Promise<void> {
  if (finished) return;
  finished = true;
  clearTimeout(deadline);
  await beacon.stop();
  const cpu = process.cpuUsage(cpuStart);
  sink.close();
  out.stream.flushSync();
  const result: BeaconResult = {
    type: 'beacon',
    intervalMs,
    startMs,
    beats: records,
    unmatched,
    cpuUs: cpu.user + cpu.system,
  };
  process.send?.(result, () => process.exit(0));
}
