/**
 * The receivers run compiled, as the images run the services (`npm run
 * build`, `node dist/...`), not through tsx: tsx's loader costs a start
 * about half a second (the restart figure), and nothing else. The children
 * and the services they import are emitted as JavaScript into
 * `<checkout>/bench/out/build` (type checking is `npm run typecheck`'s job),
 * beside what the running code reads from its own directory: the version
 * from package.json and the page's assets.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Compiles `<root>/bench/children` with what it imports; returns the directory the children's .js are in. */
export function buildChildren(root: string): string {
  const out = join(root, 'bench', 'out', 'build');
  rmSync(out, { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc))
    throw new Error(`cannot build the receivers of ${root}: no TypeScript there (npm ci)`);
  try {
    execFileSync(
      process.execPath,
      [
        tsc,
        '--project',
        join(root, 'tsconfig.json'),
        '--rootDir',
        root,
        '--outDir',
        out,
        '--noCheck',
        '--noEmit',
        'false',
        '--declaration',
        'false',
        '--sourceMap',
        'false',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (err) {
    const e = err as { stdout?: Buffer; message: string };
    throw new Error(`cannot build the receivers of ${root}: ${e.stdout?.toString().trim() || e.message}`);
  }
  // Read at run time relative to the compiled files, as in the images: the version, and the page's
  // assets (wherever the checkout keeps them: every file of the services that is not TypeScript).
  cpSync(join(root, 'package.json'), join(out, 'package.json'));
  cpSync(join(root, 'services'), join(out, 'services'), {
    recursive: true,
    filter: (source) => !source.endsWith('.ts'),
  });
  const children = join(out, 'bench', 'children');
  if (!existsSync(join(children, 'client.js'))) {
    throw new Error(`cannot build the receivers of ${root}: no bench/children/client.ts there`);
  }
  return children;
}
