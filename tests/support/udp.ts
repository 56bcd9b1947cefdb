/** Real UDP on loopback for tests: a sender and a small polling helper. */
import { createSocket } from 'node:dgram';
import { expect } from 'vitest';
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

/** Polls `read` until the sender it returns matches `expected` (state, reason, ...); returns it. */
export function untilSender<T extends object>(
  read: () => Promise<T>,
  expected: Partial<T>,
  timeoutMs: number,
  stepMs = 100,
): Promise<T> {
  return eventually(
    async () => {
      const s = await read();
      expect(s).toMatchObject(expected);
      return s;
    },
    timeoutMs,
    stepMs,
  );
}

/**
 * Polls `read` until the sender it returns is down; returns it, and when each
 * state was first seen on the way (the clock read after the answer came).
 */
export async function untilDown<T extends { state: string }>(
  read: () => Promise<T>,
  timeoutMs: number,
  stepMs = 100,
): Promise<{ sender: T; firstSeen: Partial<Record<T['state'], number>> }> {
  const firstSeen: Partial<Record<T['state'], number>> = {};
  const sender = await eventually(
    async () => {
      const s = await read();
      firstSeen[s.state as T['state']] ??= Date.now();
      expect(s.state).toBe('down');
      return s;
    },
    timeoutMs,
    stepMs,
  );
  return { sender, firstSeen };
}

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
