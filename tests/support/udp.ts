/** Real UDP on loopback for tests: a sender and a small polling helper. */
import { createSocket } from 'node:dgram';
import { encodedBeat } from './builders.js';

export async function sendUdp(
  port: number,
  payloads: Array<Buffer | string>,
  host = '127.0.0.1',
): Promise<void> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    for (const p of payloads) {
      await new Promise<void>((resolve, reject) =>
        socket.send(p, port, host, (err) => (err ? reject(err) : resolve())),
      );
    }
  } finally {
    socket.close();
  }
}

/** A beat for a real socket (see builders.ts). */
export const beat = encodedBeat;

export async function eventually<T>(probe: () => Promise<T> | T, timeoutMs = 5000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
