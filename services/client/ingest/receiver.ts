/**
 * The UDP socket: bind, size the receive buffer, and hand every datagram
 * (readable) and every socket error (exception) to the caller. Nothing else.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface ReceiverOptions {
  host: string;
  port: number;
  recvBufferBytes: number;
}

export interface ReceiverHandlers {
  readable(bytes: Buffer, remote: RemoteInfo): void;
  exception(err: Error): void;
}

export interface Receiver {
  address: { address: string; port: number; family: string };
  /** What the kernel granted for SO_RCVBUF (Linux reports twice the asked size, capped by net.core.rmem_max). */
  recvBufferBytes: number;
  bound(): boolean;
  stop(): Promise<void>;
}

export async function startReceiver(options: ReceiverOptions, handlers: ReceiverHandlers): Promise<Receiver> {
  const socket: Socket = createSocket({
    type: isIPv6(options.host) ? 'udp6' : 'udp4',
    recvBufferSize: options.recvBufferBytes,
  });
  socket.on('message', handlers.readable);
  let bound = false;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  bound = true;
  socket.on('error', handlers.exception);
  socket.on('close', () => {
    bound = false;
  });
  const address = socket.address();
  return {
    address,
    recvBufferBytes: socket.getRecvBufferSize(),
    bound: () => bound,
    stop: () =>
      new Promise<void>((resolve) => {
        if (!bound) return resolve();
        socket.close(() => resolve());
      }),
  };
}
