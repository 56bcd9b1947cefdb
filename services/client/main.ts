/** The monitor process: parse config, start, and own shutdown. Nothing else reads process.env. */
import { readKeyring } from '../shared/keys.js';
import { installShutdown } from '../shared/lifecycle.js';
import { createLogger, stdoutDestination } from '../shared/logger.js';
import { failStartup } from '../shared/startup.js';
import { lowerMainThread } from '../shared/thread-priority.js';
import { readAdminToken } from './config/admin-token.js';
import { loadClientConfig } from './config.js';
import { tuneHeap } from './heap-tuning.js';
import { startMonitor, VERSION } from './monitor.js';

// Before the monitor starts: its heap settings hold for all of it.
tuneHeap();

// The buffered stdout, once made: a failed start writes what it holds before the failure's line.
let out: ReturnType<typeof stdoutDestination> | undefined;
try {
  const config = loadClientConfig(process.env);
  const keyring = readKeyring(config.keyFiles, 'AUTH_KEY_FILES');
  out = stdoutDestination(config.logBufferBytes);
  const logger = createLogger({ service: 'client', level: config.logLevel, destination: out.stream });
  logger.info(
    {
      event: 'start',
      version: VERSION,
      config: {
        ...config,
        keyFiles: config.keyFiles.map((k) => k.keyId),
        // Webhook URLs carry secrets in their path: only their labels (scheme, host, port).
        notifyWebhookUrls: config.notifyWebhookUrls.map((t) => t.label),
        webhooks: config.webhooks.map((t) => t.label),
        alertmanagerUrls: config.alertmanagerUrls.map((t) => t.label),
        notifyProxyUrl: config.notifyProxyUrl?.label ?? null,
        // Counted, not listed: there may be thousands.
        expectedSenders: config.expectedSenders.length,
        declared: config.declared.length,
      },
    },
    'monitor starting',
  );
  const logs = out;
  const adminToken = readAdminToken(config.adminTokenFile);
  const monitor = await startMonitor(config, logger, { keyring, adminToken, log: logs });
  // After the threads started (a thread starts at its creator's nice value): the socket threads keep
  // the process's; V8's helper threads, which collect the main thread's heap, go down with it.
  lowerMainThread(config.mainThreadNice);
  installShutdown({
    logger,
    logs: logs.stream,
    stop: (how) => monitor.stop(how),
    timeoutMs: config.stopTimeoutMs,
  });
  // A socket thread that died is fatal: rejected here, the shutdown takes it as one (a `fatal`
  // line, the stop, exit 1), and the orchestrator starts a monitor that can hear.
  void monitor.died.then((err) => Promise.reject(err));
} catch (err) {
  out?.stream.flushSync();
  failStartup('client', err);
}
