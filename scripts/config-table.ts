/**
 * Prints the README's configuration tables from the config schemas:
 *   npx tsx scripts/config-table.ts
 * tests/unit/docs.test.ts fails when the README and the schemas disagree.
 */
import { clientEnv } from '../services/client/config.js';
import { serverEnv } from '../services/server/config.js';
import { describeEnv, type EnvSpec } from '../services/shared/env.js';

export function configTable(spec: EnvSpec): string {
  const rows = describeEnv(spec).map(
    (d) =>
      `| \`${d.variable}\` | ${d.default === '' ? '(empty)' : `\`${d.default}\``} | ${d.description.replaceAll('|', '\\|')} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

if (import.meta.main) {
  console.log('### server\n');
  console.log(configTable(serverEnv));
  console.log('\n### client\n');
  console.log(configTable(clientEnv));
}
