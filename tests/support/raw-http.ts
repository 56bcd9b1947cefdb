/**
 * HTTP/1.1 written by hand on a TCP connection, for what fetch will not
 * send: half a request, a body a byte at a time, something that is not
 * HTTP at all, requests pipelined on one connection.
 */
import { connect } from 'node:net';

export interface RawConnection {
  write(text: string): void;
  /** Everything the server sent so far, as text. */
  received(): string;
  /** How long the connection was open when the server closed it; null if still open after `waitMs`. */
  closedWithin(waitMs: number): Promise<number | null>;
  /** Stops taking what the server sends (the kernel's buffers fill, then the server waits); resume() takes it again. */
  pause(): void;
  resume(): void;
  destroy(): void;
}

export function openRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    // Read before the connect: the server's timers start once it has the connection.
    const openedAt = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let closedAfterMs: number | null = null;
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        closedAfterMs = Date.now() - openedAt;
        done();
      }),
    );
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
    });
    socket.once('connect', () =>
      resolve({
        write: (bytes) => {
          if (socket.writable) socket.write(bytes);
        },
        received: () => text,
        async closedWithin(waitMs) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
          clearTimeout(timer);
          return closedAfterMs;
        },
        pause: () => socket.pause(),
        resume: () => socket.resume(),
        destroy: () => socket.destroy(),
      }),
    );
    // Once connected, an error (a reset: the server closed while the client still wrote) only closes it.
    socket.on('error', reject);
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The responses in what a connection received, in order (each with a Content-Length body). */
export function responsesIn(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) break;
    const [statusLine = '', ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    const length = Number(headers['content-length'] ?? 0);
    const bodyBytes = Buffer.from(rest.slice(headEnd + 4), 'utf8');
    responses.push({
      status: Number(statusLine.split(' ')[1]),
      headers,
      body: bodyBytes.subarray(0, length).toString('utf8'),
    });
    rest = bodyBytes.subarray(length).toString('utf8');
  }
  return responses;
}
