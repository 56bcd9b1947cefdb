/**
 * Vitest global setup: the tools the tests drive besides Docker and Node
 * (Chromium, promtool, Alertmanager, jq, gcc, ...; the list is
 * .ci/test-tools.sh's) are there before any test runs. On a machine where
 * they are missing and can be installed (Debian's apt-get, as root or with
 * sudo that asks no password) they are installed, saying so; otherwise the
 * run stops here with one message naming what is missing and how to get
 * it, instead of a failure in every test that needs one.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../.ci/test-tools.sh', import.meta.url));

function missingPackages(): string[] {
  const out = execFileSync('bash', [SCRIPT, '--missing'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line !== '');
}

function succeeds(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** How to run the installer here, or null when it cannot run unattended. */
function installer(): string[] | null {
  if (!succeeds('sh', ['-c', 'command -v apt-get'])) return null;
  if (process.getuid?.() === 0) return ['bash', SCRIPT];
  // sudo resets the environment: the script is told where Chromium is expected (it installs it only if not there).
  const chromium = `CHROMIUM_PATH=${process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'}`;
  if (succeeds('sudo', ['-n', 'true'])) return ['sudo', '-n', 'env', chromium, 'bash', SCRIPT];
  return null;
}

export default function setup(): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const run = installer();
  if (run !== null) {
    console.log(`[test-tools] installing ${missing.join(' ')}: ${run.join(' ')}`);
    const [command, ...args] = run as [string, ...string[]];
    execFileSync(command, args, { stdio: 'inherit' });
    const still = missingPackages();
    if (still.length === 0) return;
    throw new Error(
      `the tests need these Debian packages, still missing after the install: ${still.join(' ')}`,
    );
  }
  throw new Error(
    `the tests need these Debian packages, missing here: ${missing.join(' ')}. ` +
      `Install them (sudo bash .ci/test-tools.sh, or apt-get install ${missing.join(' ')}), ` +
      'or run everything as CI does: bash .ci/run',
  );
}
