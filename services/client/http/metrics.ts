/**
 * Prometheus metrics. Every value is read from the ingest counters and the
 * tracker when /metrics is scraped; the one thing kept per datagram is the
 * tracker's own: the delay and jitter histograms across all senders
 * (tracking/timing-counts.ts), so that no scrape passes over every sender.
 * A scrape writes the per-sender families of the most urgent senders
 * (METRICS_SENDER_SERIES of them at most) a part at a time, between the
 * datagram path's turns.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { monitorLoopDelay } from '../../shared/loop-delay.js';
import { collectProcessMetrics } from '../../shared/process-metrics.js';
import { SENDER_STATES } from '../../shared/vocabulary.js';
import type { SocketThreadStats } from '../ingest/receiver.js';
import type { TimingHistograms } from '../tracking/timing-counts.js';
import type { SenderSummary } from '../tracking/tracker.js';
import { RESPONSE_IDLE_MS } from './request-limits.js';
import { senderSeriesText } from './sender-series.js';
import { renderTimingHistograms } from './timing-histograms.js';

export interface MetricsSource {
  ingest: {
    datagrams: number;
    bytes: number;
    accepted: number;
    text: number;
    exceptions: ReadonlyMap<string, number>;
  };
  /**
   * The senders that get series of their own (the most urgent
   * METRICS_SENDER_SERIES), handed to `take` a part at a time; resolves
   * when all are.
   */
  senders(take: (part: readonly SenderSummary[]) => void): Promise<void>;
  /** The histograms across all senders: every sender's latest one-way delay and its jitter. */
  timings: TimingHistograms;
  stateCounts(): Record<string, number>;
  /** State changes so far, by the state entered and the reason. */
  stateChanges(): Iterable<{ to: string; reason: string; count: number }>;
  evictions(): number;
  sseEventsDropped(): number;
  /** Per target label. */
  notifications: ReadonlyMap<string, TargetCounts>;
  store: {
    readonly writes: number;
    readonly failures: number;
    readonly incidentsDropped: number;
    readonly lastWriteMs: number;
  };
  kernel(): { drops: number; rxQueueBytes: number } | null;
  /** The socket threads: their loop delay since the last call, and the queue to the main thread. */
  socketThreads(): Promise<SocketThreadStats>;
  queueDrops(): number;
  socketWakeups(): number;
  /** JSON datagrams a busy socket thread handed over undecoded, decoded on the main thread. */
  decodedOnMain(): number;
  socketBatches(): number;
  /** How far behind the clock silence was judged at the latest liveness tick (read-through.ts, the watermark). */
  judgementLagMs(): number;
  logLinesDropped(): number;
  logBytesWritten(): number;
  sseClients(): number;
  /** Connections closed at once because HTTP_MAX_CONNECTIONS + SSE_MAX_CLIENTS were open. */
  httpConnectionsRefused(): number;
  /** Answers closed because their client took none of them for RESPONSE_IDLE_MS. */
  httpResponsesCut(): number;
  recvBufferBytes: number;
}

const PREFIX = 'udp_monitor_';

interface TargetCounts {
  sent: number;
  failed: number;
  retried: number;
  givenUp: number;
  dropped: number;
}

export interface MonitorMetrics {
  readonly contentType: string;
  /**
   * The exposition text, in chunks (~1.2 MB at 1,000 senders' series: never
   * one string, text-chunks.ts); the per-sender series are written a part of
   * the senders at a time.
   */
  scrape(): Promise<string[]>;
}

export function monitorMetrics(source: MetricsSource): MonitorMetrics {
  const registry = new Registry();
  collectProcessMetrics(registry);
  const registers = [registry];

  const total = (name: string, help: string, read: () => number) =>
    new Counter({
      name: PREFIX + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name: PREFIX + name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  total(
    'datagrams_received_total',
    'Datagrams read from the socket, valid or not',
    () => source.ingest.datagrams,
  );
  total('bytes_received_total', 'Bytes read from the socket', () => source.ingest.bytes);
  total('datagrams_accepted_total', 'Protocol datagrams accepted and tracked', () => source.ingest.accepted);
  total('text_datagrams_total', 'Plain-text (non-JSON) datagrams', () => source.ingest.text);
  new Counter({
    name: `${PREFIX}exceptions_total`,
    help: 'Exception events by reason (rejected datagrams and socket errors)',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of source.ingest.exceptions) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: `${PREFIX}state_changes_total`,
    help: 'Sender state changes by the state entered and the reason',
    labelNames: ['to', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const { to, reason, count } of source.stateChanges()) this.inc({ to, reason }, count);
    },
  });
  total('senders_evicted_total', 'Senders evicted because MAX_SENDERS was reached', source.evictions);
  total('state_writes_total', 'Transactions written to the state file', () => source.store.writes);
  total(
    'state_write_errors_total',
    'State file writes that failed, of every writer (each retried)',
    () => source.store.failures,
  );
  total(
    'state_incidents_dropped_total',
    'State changes not written because writes kept failing',
    () => source.store.incidentsDropped,
  );

  // The datagram path's two event loops: how late each ran since the last scrape.
  // `socket`: the threads that read and decode the port; `main`: tracking, logging (and HTTP).
  const loop = monitorLoopDelay();
  let socket: SocketThreadStats = { loop: { p99Ms: 0, maxMs: 0 }, queuedBytes: 0 };
  new Gauge({
    name: `${PREFIX}event_loop_delay_seconds`,
    help: 'Event-loop delay since the last scrape (how late a 10 ms timer ran), by thread (socket: reads the port; main: tracks, logs, serves HTTP) and stat (p99, max)',
    labelNames: ['thread', 'stat'],
    registers,
    collect() {
      for (const [thread, delay] of [
        ['main', loop.read()],
        ['socket', socket.loop],
      ] as const) {
        this.set({ thread, stat: 'p99' }, delay.p99Ms / 1000);
        this.set({ thread, stat: 'max' }, delay.maxMs / 1000);
      }
    },
  });
  total(
    'queue_drops_total',
    'Datagrams dropped because the queue from the socket threads to the main thread was full (UDP_QUEUE_BYTES)',
    source.queueDrops,
  );
  total(
    'socket_wakeups_total',
    'Datagrams that found a socket thread idle: each woke it, and let the next ones gather for UDP_COALESCE',
    source.socketWakeups,
  );
  total(
    'datagrams_decoded_on_main_thread_total',
    'JSON datagrams a busy socket thread handed over undecoded, so the main thread decoded and validated them (the socket thread keeps room to read)',
    source.decodedOnMain,
  );
  total(
    'socket_batches_total',
    'Batches of datagrams the socket threads handed over and the main thread handled (up to 512 each: few datagrams a batch while it keeps up, full ones while it is behind)',
    source.socketBatches,
  );
  gauge(
    'judgement_lag_seconds',
    'How far behind the clock silence was judged at the latest liveness tick: the socket threads had not read, or the main thread had not handled, what arrived since',
    () => source.judgementLagMs() / 1000,
  );
  gauge(
    'queue_bytes',
    'Datagrams read by the socket threads and not yet handled, in bytes',
    () => socket.queuedBytes,
  );

  const perTarget = (name: string, help: string, pick: (s: TargetCounts) => number) =>
    new Counter({
      name: PREFIX + name,
      help,
      labelNames: ['target'],
      registers,
      collect() {
        this.reset();
        for (const [target, s] of source.notifications) this.inc({ target }, pick(s));
      },
    });
  perTarget(
    'notifications_sent_total',
    'Notifications delivered (and Alertmanager pushes accepted)',
    (s) => s.sent,
  );
  perTarget('notifications_failed_total', 'Delivery attempts that failed', (s) => s.failed);
  perTarget(
    'notifications_retried_total',
    'Failed deliveries scheduled again with backoff',
    (s) => s.retried,
  );
  perTarget(
    'notifications_given_up_total',
    'Notifications given up (too old, or refused for good)',
    (s) => s.givenUp,
  );
  perTarget(
    'notifications_dropped_total',
    'Notifications dropped because the target queue was full',
    (s) => s.dropped,
  );
  gauge(
    'state_write_seconds',
    'Duration of the last state file write',
    () => source.store.lastWriteMs / 1000,
  );
  total(
    'sse_events_dropped_total',
    'Live-update events (other than datagram samples) dropped because a batch was full; the page catches up from its next snapshot',
    source.sseEventsDropped,
  );
  total(
    'log_lines_dropped_total',
    'Log lines dropped because stdout could not keep up',
    source.logLinesDropped,
  );
  total('log_bytes_written_total', 'Bytes of log lines written to stdout', source.logBytesWritten);
  total(
    'kernel_drops_total',
    "Datagrams the kernel dropped for this socket (/proc/net/udp 'drops')",
    () => source.kernel()?.drops ?? 0,
  );
  gauge(
    'kernel_rx_queue_bytes',
    'Bytes waiting in the socket receive queue',
    () => source.kernel()?.rxQueueBytes ?? 0,
  );
  gauge('recv_buffer_bytes', 'Socket receive buffer granted by the kernel', () => source.recvBufferBytes);
  gauge('sse_clients', 'Connected live-update clients', source.sseClients);
  total(
    'http_connections_refused_total',
    'HTTP connections closed at once because HTTP_MAX_CONNECTIONS + SSE_MAX_CLIENTS were open',
    source.httpConnectionsRefused,
  );
  total(
    'http_responses_cut_total',
    `HTTP answers closed because their client took none of them for ${RESPONSE_IDLE_MS / 1000} s`,
    source.httpResponsesCut,
  );

  new Gauge({
    name: `${PREFIX}senders`,
    help: 'Tracked senders by liveness state',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = source.stateCounts();
      for (const state of SENDER_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });

  return {
    contentType: registry.contentType,
    async scrape() {
      // Asked first: the socket threads answer (each when its own loop comes round) while this thread
      // writes the senders' part, by hand: the histograms across all senders, and the most urgent
      // senders' families, a part of them a turn.
      const threads = source.socketThreads();
      const histograms = renderTimingHistograms(source.timings);
      const series = senderSeriesText();
      await source.senders((part) => series.add(part));
      socket = await threads;
      return [await registry.metrics(), histograms, ...series.chunks()];
    },
  };
}
