/**
 * The client under test: the real monitor (`startMonitor`, with its real
 * decode, validation, tracking, history and HTTP API), logging through the
 * real logger factory to a file, one `readable` line per datagram. Forked
 * by bench/run.ts; the log file is given in BENCH_LOG_FILE.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientConfig } from '../../services/client/config.js';
import { tuneHeap } from '../../services/client/heap-tuning.js';
import { startMonitor } from '../../services/client/monitor.js';
import { createLogger, logDestination } from '../../services/shared/logger.js';
import { lowerMainThread } from '../../services/shared/thread-priority.js';
import { cpuUs, memory, reply, serve } from './ipc.js';

// As main.ts does, first.
tuneHeap();

const logFile = process.env.BENCH_LOG_FILE;
if (logFile === undefined) throw new Error('BENCH_LOG_FILE is not set');

// BENCH_CLIENT_ENV: settings of a scenario (a JSON object), over these defaults.
const scenarioEnv = JSON.parse(process.env.BENCH_CLIENT_ENV ?? '{}') as Record<string, string>;
const config = loadClientConfig({
  UDP_HOST: '127.0.0.1',
  UDP_PORT: '0',
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  UDP_RECV_BUFFER: process.env.BENCH_RECV_BUFFER_BYTES ?? '4MiB',
  LOG_LEVEL: 'info',
  DATA_DIR: mkdtempSync(join(tmpdir(), 'udpts-bench-data-')),
  ...scenarioEnv,
});
// As main.ts sets up stdout, but to a file.
const out = logDestination({ dest: logFile, maxBufferBytes: config.logBufferBytes });
const logger = createLogger({ service: 'client', level: config.logLevel, destination: out.stream });
const monitor = await startMonitor(config, logger, { log: out });
// As main.ts does: the main thread below the socket threads once they run.
lowerMainThread(config.mainThreadNice);

serve(async (command) => {
  switch (command.cmd) {
    case 'probe':
      return {
        type: 'probe',
        received: monitor.ingest.stats.datagrams,
        cpuUs: cpuUs(),
        ...memory(),
        logDropped: out.dropped(),
      };
    case 'flush':
      out.stream.flushSync();
      return { type: 'flushed' };
    case 'stop':
      await monitor.stop();
      out.stream.flushSync();
      return { type: 'stopped' };
  }
});
reply({
  type: 'ready',
  udpPort: monitor.udp.port,
  httpPort: monitor.http.port,
  recvBufferBytes: monitor.recvBufferBytes,
  startupMs: Math.round(performance.now()),
});
