/** The beacon process: parse config, start, and own shutdown. Nothing else reads process.env. */
import { startBeacon } from '../shared/beacon/beacon.js';
import { readKey } from '../shared/keys.js';
import { installShutdown } from '../shared/lifecycle.js';
import { createLogger, stdoutDestination } from '../shared/logger.js';
import { failStartup } from '../shared/startup.js';
import { loadServerConfig } from './config.js';
import { startBeaconHttp } from './http.js';

// The buffered stdout, once made: a failed start writes what it holds before the failure's line.
let out: ReturnType<typeof stdoutDestination> | undefined;
try {
  const config = loadServerConfig(process.env);
  const signer = config.keyFile
    ? { keyId: config.keyFile.keyId, key: readKey(config.keyFile, 'AUTH_KEY_FILE') }
    : null;
  out = stdoutDestination();
  const logger = createLogger({ service: 'server', level: config.logLevel, destination: out.stream });
  const beacon = startBeacon({ ...config, signer }, logger);
  const http = await startBeaconHttp(
    { port: config.httpPort, host: config.httpHost, intervalMs: config.intervalMs },
    beacon,
    logger,
  );
  installShutdown({
    logger,
    logs: out.stream,
    timeoutMs: config.stopTimeoutMs,
    stop: async (how) => {
      await beacon.stop(how);
      await http.stop();
    },
  });
} catch (err) {
  // A failure after the beacon started (HTTP_PORT taken): its lines first, in order. (Its first beat
  // is out, and no bye follows: a beacon that could not start is down, not stopped.)
  out?.stream.flushSync();
  failStartup('server', err);
}
