import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { bindFailure } from '../../services/shared/bind-failure.js';
import { ConfigError } from '../../services/shared/env.js';

const where = {
  host: { variable: 'UDP_HOST', value: '::' },
  port: { variable: 'UDP_PORT', value: 5000 },
};

/** A bind's failure as libuv reports it. */
function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`bind ${code} :::5000`), { code, syscall: 'bind' });
}

describe('bindFailure', () => {
  it.each([
    ['EADDRINUSE', 'UDP_PORT', '5000'],
    ['EACCES', 'UDP_PORT', '5000'],
    ['EADDRNOTAVAIL', 'UDP_HOST', '::'],
  ])('makes %s a ConfigError naming %s', (code, variable, value) => {
    const err = bindFailure(errno(code), where);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      code,
      problems: [{ variable, value, expected: expect.stringContaining(code) }],
    });
  });

  it('makes EAFNOSUPPORT (an IPv6 address where IPv6 is off) a ConfigError naming the HOST variable', () => {
    const err = bindFailure(errno('EAFNOSUPPORT'), {
      host: { variable: 'HTTP_HOST', value: '::1' },
      port: { variable: 'HTTP_PORT', value: 8080 },
    });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'EAFNOSUPPORT', name: 'ConfigError' });
    expect((err as ConfigError).message).toBe(
      'invalid configuration: HTTP_HOST="::1": expected an address of a family this host supports, e.g. 0.0.0.0 where there is no IPv6 (EAFNOSUPPORT: address family not supported)',
    );
  });

  it('makes EINVAL (a link-local IPv6 address without its interface) a ConfigError naming the HOST variable, as a real bind gives it', async () => {
    const failure = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const socket = createSocket('udp6');
      socket.once('error', (err) => {
        socket.close();
        resolve(err);
      });
      socket.once('listening', () => {
        socket.close();
        reject(new Error('fe80::1 without an interface was bound'));
      });
      socket.bind(0, 'fe80::1');
    });
    const err = bindFailure(failure, {
      host: { variable: 'UDP_HOST', value: 'fe80::1' },
      port: { variable: 'UDP_PORT', value: 0 },
    });
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      'invalid configuration: UDP_HOST="fe80::1": expected an address this host can bind; a link-local IPv6 address needs its interface, e.g. fe80::1%eth0 (EINVAL: invalid argument)',
    );
  });

  it('leaves any other error as it is', () => {
    const other = errno('EMFILE');
    expect(bindFailure(other, where)).toBe(other);
    expect(bindFailure(null, where)).toBeNull();
  });
});
