/**
 * Reference points between the baseline and the client: the bare dgram
 * counter plus the real classify() (JSON.parse and the zod schema's compiled
 * parse, as a socket thread runs it) per datagram and, with BENCH_LOG_FILE set, plus the client's `readable`
 * line through the real logger. Nothing else (no tracking, history or HTTP).
 * Forked by bench/run.ts (full run).
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createClassifier } from '../../services/client/ingest/classify.js';
import { readableLineWriter } from '../../services/client/ingest/readable-line.js';
import { createLogger, logDestination } from '../../services/shared/logger.js';
import { cpuUs, memory, reply, serve } from './ipc.js';

const recvBufferBytes = Number(process.env.BENCH_RECV_BUFFER_BYTES ?? 4 * 1024 * 1024);
const logFile = process.env.BENCH_LOG_FILE;
const out = logFile === undefined ? null : logDestination({ dest: logFile });
const logReadable =
  out === null
    ? null
    : readableLineWriter(
        createLogger({ service: 'client', level: 'info', destination: out.stream }).child({
          event: 'readable',
        }),
      );
const classify = createClassifier({ maxBytes: 1232, keys: [], requireAuth: false, allowFrom: [] });
let received = 0;

function onMessage(bytes: Buffer, remote: RemoteInfo): void {
  received++;
  const datagram = classify(bytes, remote, Date.now());
  if (datagram.outcome !== 'accepted' || logReadable === null) return;
  logReadable(datagram);
}

const socket = createSocket({ type: 'udp4', recvBufferSize: recvBufferBytes });
socket.on('message', onMessage);
socket.bind(0, '127.0.0.1', () => {
  serve((command) => {
    switch (command.cmd) {
      case 'probe':
        return { type: 'probe', received, cpuUs: cpuUs(), ...memory(), logDropped: out?.dropped() ?? 0 };
      case 'flush':
        out?.stream.flushSync();
        return { type: 'flushed' };
      case 'stop':
        socket.close();
        out?.stream.flushSync();
        return { type: 'stopped' };
    }
  });
  reply({
    type: 'ready',
    udpPort: socket.address().port,
    httpPort: 0,
    recvBufferBytes: socket.getRecvBufferSize(),
  });
});
