/**
 * A vitest reporter that writes the errors of suites and test files, not of
 * tests, to a text file: a `beforeAll` or `afterAll` that threw, a file
 * that failed to load. vitest's JSON report keeps a test's errors and a
 * file's own first message, never a suite's, so .ci/run reads this file to
 * say near its end why a file failed with all its tests passed. Written at
 * every run's end, empty when there is nothing to say.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** The lines of an error's stack kept: its message and where it was thrown. */
const STACK_LINES = 14;

export default class SuiteErrorsReporter implements Reporter {
  private readonly outputFile: string;

  constructor(options: { outputFile: string }) {
    this.outputFile = options.outputFile;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const entries: string[] = [];
    for (const module of modules) {
      const scopes = [
        { name: module.relativeModuleId, errors: module.errors() },
        ...[...module.children.allSuites()].map((suite) => ({
          name: `${module.relativeModuleId} > ${suite.fullName}`,
          errors: suite.errors(),
        })),
      ];
      for (const { name, errors } of scopes) {
        for (const error of errors) {
          const text = (error.stack ?? `${error.name ?? 'Error'}: ${error.message}`).split('\n');
          entries.push(
            `${name}\n${text
              .slice(0, STACK_LINES)
              .map((l) => `    ${l}`)
              .join('\n')}`,
          );
        }
      }
    }
    mkdirSync(dirname(this.outputFile), { recursive: true });
    writeFileSync(this.outputFile, entries.length === 0 ? '' : `${entries.join('\n')}\n`);
  }
}
