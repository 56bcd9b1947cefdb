/**
 * A vitest reporter that writes the errors that are not a test's to a text
 * file: a `beforeAll` or `afterAll` that threw, a file that failed to load,
 * an error thrown outside any test. vitest's JSON report keeps a test's
 * errors and a file's own first message, never a suite's nor an unhandled
 * one, so .ci/run reads this file to say near its end why a run failed
 * with all its tests passed. Written at every run's end, empty when there
 * is nothing to say.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SerializedError } from 'vitest';
import type { Reporter, TestModule } from 'vitest/node';

/** The lines of an error's stack kept: its message and where it was thrown. */
const STACK_LINES = 14;

/** `error` under the heading `where`, its stack's first lines indented. */
function entry(where: string, error: SerializedError): string {
  const lines = (error.stack ?? `${error.name ?? 'Error'}: ${error.message}`).split('\n');
  return [where, ...lines.slice(0, STACK_LINES).map((l) => `    ${l}`)].join('\n');
}

export default class SuiteErrorsReporter implements Reporter {
  private readonly outputFile: string;

  constructor(options: { outputFile: string }) {
    this.outputFile = options.outputFile;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): void {
    const entries: string[] = [];
    for (const module of modules) {
      for (const error of module.errors()) entries.push(entry(module.relativeModuleId, error));
      for (const suite of module.children.allSuites()) {
        for (const error of suite.errors()) {
          entries.push(entry(`${module.relativeModuleId} > ${suite.fullName}`, error));
        }
      }
    }
    // Thrown outside any test or hook (a timer's callback, a rejection nobody awaited): the run fails for them.
    for (const error of unhandled) entries.push(entry('(an unhandled error)', error));
    mkdirSync(dirname(this.outputFile), { recursive: true });
    writeFileSync(this.outputFile, entries.length === 0 ? '' : `${entries.join('\n')}\n`);
  }
}
