/**
 * The baseline: a bare Node dgram socket on loopback that only counts, with
 * the same receive buffer as the client. Forked by bench/run.ts.
 */
import { createSocket } from 'node:dgram';
import { cpuUs, memory, reply, serve } from './ipc.js';

const recvBufferBytes = Number(process.env.BENCH_RECV_BUFFER_BYTES ?? 4 * 1024 * 1024);
let received = 0;
const socket = createSocket({ type: 'udp4', recvBufferSize: recvBufferBytes });
socket.on('message', () => {
  received++;
});
socket.bind(0, '127.0.0.1', () => {
  serve((command) => {
    switch (command.cmd) {
      case 'probe':
        return {
          type: 'probe',
          received,
          cpuUs: cpuUs(),
          ...memory(),
          logDropped: 0,
        };
      case 'flush':
        return { type: 'flushed' };
      case 'stop':
        socket.close();
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
