/**
 * A DNS server on loopback for tests of the system lookup's probe: it
 * records each query's name and never answers (a server cut from its
 * network), answers "no such name" (NXDOMAIN), or answers every A query
 * with one address.
 */
import { createSocket } from 'node:dgram';
import { NO_SEARCH } from '../../services/shared/dns/resolver-config.js';
import {
  type SystemLookup,
  type SystemLookupOptions,
  systemLookup,
} from '../../services/shared/dns/system-lookup.js';

export interface DnsStub {
  /** `127.0.0.1:port`, for Resolver.setServers. */
  server: string;
  /** The names asked for, in order. */
  names: string[];
  close(): Promise<void>;
}

export type DnsStubBehaviour = 'silent' | 'nxdomain' | { address: string };

/** A DNS message's question: its name (labels from byte 12 to the zero length), and where it ends (past type and class). */
function question(message: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let at = 12;
  while (at < message.length && message[at] !== 0) {
    const length = message[at] as number;
    labels.push(message.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  return { name: labels.join('.'), end: at + 1 + 4 };
}

function reply(query: Buffer, behaviour: Exclude<DnsStubBehaviour, 'silent'>): Buffer {
  // The header and the question, as a response: QR, RD and RA set; no additional records.
  const head = Buffer.from(query.subarray(0, question(query).end));
  head.writeUInt16BE(0x0000, 10);
  if (behaviour === 'nxdomain') {
    head.writeUInt16BE(0x8183, 2); // RCODE 3: no such name
    return head;
  }
  head.writeUInt16BE(0x8180, 2);
  head.writeUInt16BE(1, 6); // one answer
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  answer.writeUInt16BE(1, 2); // type A
  answer.writeUInt16BE(1, 4); // class IN
  answer.writeUInt32BE(60, 6); // TTL
  answer.writeUInt16BE(4, 10);
  behaviour.address.split('.').forEach((octet, i) => {
    answer[12 + i] = Number(octet);
  });
  return Buffer.concat([head, answer]);
}

export async function dnsStub(behaviour: DnsStubBehaviour): Promise<DnsStub> {
  const socket = createSocket('udp4');
  const names: string[] = [];
  socket.on('message', (query, from) => {
    names.push(question(query).name);
    if (behaviour !== 'silent') socket.send(reply(query, behaviour), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    names,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/**
 * The system lookup asking only `stub`, with no search domain and no
 * /etc/hosts names, and a getaddrinfo that records each name and answers
 * `address`. By default a probe waits far longer than any test: only a
 * cancel ends it.
 */
export function lookupVia(
  stub: DnsStub,
  address: string,
  options: SystemLookupOptions = {},
): { names: SystemLookup; asked: string[] } {
  const asked: string[] = [];
  const names = systemLookup({
    servers: [stub.server],
    search: NO_SEARCH,
    hostsNames: new Set(),
    probeTimeoutMs: 60_000,
    probeTries: 1,
    getaddrinfo: async (host) => {
      asked.push(host);
      return [{ address }];
    },
    ...options,
  });
  return { names, asked };
}
