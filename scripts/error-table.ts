/**
 * Prints the README's table of error codes from their declaration
 * (services/client/http/error-codes.ts):
 *   npx tsx scripts/error-table.ts
 * tests/unit/docs.test.ts fails when the README and the declaration disagree.
 */
import { ERROR_CODE_NAMES, ERROR_CODES } from '../services/client/http/error-codes.js';

export function errorTable(): string {
  const rows = ERROR_CODE_NAMES.map(
    (code) =>
      `| ${ERROR_CODES[code].status} | \`${code}\` | ${ERROR_CODES[code].when.replaceAll('|', '\\|')} |`,
  );
  return ['| status | `error` | when |', '|---:|---|---|', ...rows].join('\n');
}

if (import.meta.main) console.log(errorTable());
