/**
 * A socket that cannot be bound is a configuration problem, and says which
 * setting: the port is taken (EADDRINUSE) or privileged (EACCES), the
 * address is not one of this host's (EADDRNOTAVAIL), cannot be bound as
 * given (EINVAL: a link-local IPv6 address without its interface), or its
 * family is not one this host has (EAFNOSUPPORT: an IPv6 address where
 * IPv6 is off).
 * Such a failure becomes a ConfigError (one `config_error` line naming the
 * variable, no stack trace), keeping the error's `code`; any other error is
 * left as it is.
 */
import { ConfigError } from './env.js';

interface Setting {
  variable: string;
  value: string | number;
}

type Where = { host: Setting; port: Setting };

/** Per errno code: the setting at fault, and what it should have been. */
const PROBLEMS: Readonly<Record<string, { setting: keyof Where; expected: (where: Where) => string }>> = {
  EADDRINUSE: {
    setting: 'port',
    expected: (where) => `a port nothing else has bound on ${where.host.value} (EADDRINUSE: in use)`,
  },
  EACCES: {
    setting: 'port',
    expected: () => 'a port this user may bind, 1024 or above (EACCES: permission denied)',
  },
  EADDRNOTAVAIL: {
    setting: 'host',
    expected: () => 'an address of this host, or 0.0.0.0 or :: for all (EADDRNOTAVAIL)',
  },
  // Linux's answer for a link-local IPv6 address without its interface (fe80::1), or with one it has not.
  EINVAL: {
    setting: 'host',
    expected: () =>
      'an address this host can bind; a link-local IPv6 address needs its interface, e.g. fe80::1%eth0 (EINVAL: invalid argument)',
  },
  EAFNOSUPPORT: {
    setting: 'host',
    expected: () =>
      'an address of a family this host supports, e.g. 0.0.0.0 where there is no IPv6 (EAFNOSUPPORT: address family not supported)',
  },
};

export function bindFailure(err: unknown, where: Where): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const problem = code !== undefined && Object.hasOwn(PROBLEMS, code) ? PROBLEMS[code] : undefined;
  if (problem === undefined) return err;
  const { variable, value } = where[problem.setting];
  return Object.assign(
    new ConfigError([{ variable, value: String(value), expected: problem.expected(where) }]),
    { code },
  );
}
