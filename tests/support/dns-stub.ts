/**
 * A DNS server on loopback for tests of the system lookup's probe: it
 * records each query's name and either never answers (a server cut from
 * its network) or answers every query with "no such name" (NXDOMAIN).
 */
import { createSocket } from 'node:dgram';

export interface DnsStub {
  /** `127.0.0.1:port`, for Resolver.setServers. */
  server: string;
  /** The names asked for, in order. */
  names: string[];
  close(): Promise<void>;
}

/** The query name of a DNS message: labels from byte 12 to the zero length. */
function queryName(message: Buffer): string {
  const labels: string[] = [];
  let at = 12;
  while (at < message.length && message[at] !== 0) {
    const length = message[at] as number;
    labels.push(message.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  return labels.join('.');
}

export async function dnsStub(behaviour: 'silent' | 'nxdomain'): Promise<DnsStub> {
  const socket = createSocket('udp4');
  const names: string[] = [];
  socket.on('message', (query, from) => {
    names.push(queryName(query));
    if (behaviour === 'silent') return;
    // The query itself, turned into a response: QR, RD and RA set, RCODE 3.
    const reply = Buffer.from(query);
    reply.writeUInt16BE(0x8183, 2);
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    names,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
