/**
 * Reference points between the baseline and the client: the bare dgram
 * counter plus the real decodeDatagram (JSON.parse and the zod safeParse)
 * per datagram and, with BENCH_LOG_FILE set, plus the client's `readable`
 * line through the real logger. Nothing else (no tracking, history or HTTP).
 * Forked by bench/run.ts (full run).
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { logReadable } from '../../services/client/ingest/readable-line.js';
import { createLogger, logDestination } from '../../services/shared/logger.js';
import { type DecodeOptions, decodeDatagram } from '../../services/shared/protocol.js';
import { cpuUs, memory, reply, serve } from './ipc.js';

const recvBufferBytes = Number(process.env.BENCH_RECV_BUFFER_BYTES ?? 4 * 1024 * 1024);
const logFile = process.env.BENCH_LOG_FILE;
const out = logFile === undefined ? null : logDestination({ dest: logFile });
const readableLog =
  out === null
    ? null
    : createLogger({ service: 'client', level: 'info', destination: out.stream }).child({
        event: 'readable',
      });
const options: DecodeOptions = { maxBytes: 1232, keyring: new Map(), requireAuth: false };
let received = 0;

function onMessage(bytes: Buffer, remote: RemoteInfo): void {
  received++;
  const decoded = decodeDatagram(bytes, options);
  if (!decoded.ok || readableLog === null) return;
  logReadable(readableLog, remote, bytes.length, decoded.datagram, Date.now() - decoded.sentAtMs, false);
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
