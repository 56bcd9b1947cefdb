/**
 * The kernel's drop counts, read from /proc: the socket's (/proc/net/udp),
 * and the network namespace's drops at a full buffer (/proc/net/snmp and
 * snmp6), which overrun.ts compares to tell a full buffer from a datagram
 * discarded as corrupt. The last test fills a real socket's buffer.
 */
import { createSocket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  parseSnmp6CapacityDrops,
  parseSnmpCapacityDrops,
  readCapacityDrops,
  readKernelSocketStats,
} from '../../services/client/ingest/kernel-drops.js';

describe("the kernel's drop counts", () => {
  it('reads the full-buffer drops of /proc/net/snmp (RcvbufErrors + MemErrors of the Udp rows, not UdpLite)', () => {
    const snmp = [
      'Ip: Forwarding DefaultTTL InReceives',
      'Ip: 1 64 100',
      'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
      'Udp: 946254628 30586843 21132745 998071050 21132729 0 16 0 3',
      'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
      'UdpLite: 0 0 0 0 9 0 0 0 9',
      '',
    ].join('\n');
    expect(parseSnmpCapacityDrops(snmp)).toBe(21_132_732);
    expect(parseSnmpCapacityDrops('Ip: Forwarding\nIp: 1\n')).toBeNull();
    expect(parseSnmpCapacityDrops('Udp: InDatagrams RcvbufErrors MemErrors\nUdp: 1 2\n')).toBeNull();
  });

  it('reads those of /proc/net/snmp6 (a name and a value per line)', () => {
    const snmp6 =
      'Udp6InErrors                    \t7\nUdp6RcvbufErrors                \t5\nUdp6InCsumErrors \t2\nUdp6MemErrors                   \t1\n';
    expect(parseSnmp6CapacityDrops(snmp6)).toBe(6);
    expect(parseSnmp6CapacityDrops('Udp6InErrors 7\n')).toBeNull();
  });

  it("counts a real socket's full-buffer drops in both: the namespace's count moves at least as far as the socket's", async () => {
    // A socket with the smallest buffer, on a thread that does not read it while the datagrams come.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const reader = new Worker(
      `const { createSocket } = require('node:dgram');
       const { parentPort, workerData } = require('node:worker_threads');
       const socket = createSocket({ type: 'udp4', recvBufferSize: 1 });
       socket.on('message', () => {});
       socket.bind(0, '127.0.0.1', () => {
         parentPort.postMessage(socket.address().port);
         Atomics.wait(workerData, 0, 0, 10000);
         parentPort.once('message', () => socket.close(() => parentPort.close()));
         parentPort.postMessage('reading');
       });`,
      { eval: true, workerData: gate },
    );
    try {
      const port = await new Promise<number>((resolve) => reader.once('message', resolve));
      const before = readCapacityDrops();
      expect(before).not.toBeNull();
      const sender = createSocket('udp4');
      const payload = Buffer.alloc(100, 'x');
      for (let i = 0; i < 300; i++) {
        await new Promise<void>((resolve, reject) =>
          sender.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
        );
      }
      sender.close();
      // The socket's count first, then the namespace's, as the monitor reads them.
      const dropped = readKernelSocketStats(port)?.drops ?? 0;
      const after = readCapacityDrops() as number;
      expect(dropped).toBeGreaterThan(0);
      expect(after - (before as number)).toBeGreaterThanOrEqual(dropped);
    } finally {
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      await new Promise((resolve) => reader.once('message', resolve));
      reader.postMessage('close');
      await new Promise((resolve) => reader.once('exit', resolve));
    }
  });
});
