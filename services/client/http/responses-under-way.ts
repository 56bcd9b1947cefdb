/**
 * The responses under way on each connection, known from public API only
 * (the server's 'request' event): an answer that errors.ts writes straight
 * to a socket must not land inside a response whose headers have left.
 * Pipelined requests each have their response, answered in turn: a set.
 */
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const underWay = new WeakMap<Socket, Set<ServerResponse>>();

/** Records each response of `server` on its connection until the response closes (finished or cut). */
export function trackResponses(server: Server): void {
  server.on('request', (req, res) => {
    const responses = underWay.get(req.socket) ?? new Set<ServerResponse>();
    underWay.set(req.socket, responses);
    responses.add(res);
    res.once('close', () => responses.delete(res));
  });
}

/** Whether a response on the connection has begun and is not written whole: an answer written now would corrupt it. */
export function responseBegun(socket: Socket): boolean {
  for (const res of underWay.get(socket) ?? []) {
    if (res.headersSent && !res.writableEnded) return true;
  }
  return false;
}
