/**
 * What a main does when start-up fails: a configuration problem is one log
 * line per bad variable (no stack trace) and exit code 1; anything else is
 * logged as `fatal` with its error, exit code 1.
 */
import { pino } from 'pino';
import { asError } from './as-error.js';
import { ConfigError, formatProblem } from './env.js';
import { createLogger, type ServiceName } from './logger.js';

export function failStartup(service: ServiceName, err: unknown): never {
  const logger = createLogger({
    service,
    level: 'info',
    destination: pino.destination({ dest: 1, sync: true }),
  });
  if (err instanceof ConfigError) {
    for (const p of err.problems) {
      logger.fatal(
        { event: 'config_error', variable: p.variable, value: p.value ?? null, expected: p.expected },
        formatProblem(p),
      );
    }
  } else if (err instanceof Error && err.name === 'StateFileError' && 'file' in err) {
    // One line that names the file and says how to start afresh; no stack trace.
    logger.fatal({ event: 'state_file_error', file: String(err.file) }, err.message);
  } else {
    // asError here too: for an undefined err, pino would leave the field out rather than serialize it.
    logger.fatal({ event: 'fatal', err: asError(err) }, 'start-up failed');
  }
  process.exit(1);
}
