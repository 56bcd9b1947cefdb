/**
 * The threads of a process and their nice values, read from /proc: one
 * script for a probe inside a container and for a child process of a test.
 */

/** One thread: the process's own (main) or another, its name (comm) and its nice value. */
export interface ThreadNice {
  main: boolean;
  name: string;
  nice: number;
}

/** A pid expression: the process whose command line, arguments joined by spaces, is the script's first argument. */
export const PID_BY_COMMAND_LINE = `fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d)).find((d) => {
  try { return fs.readFileSync('/proc/' + d + '/cmdline', 'utf8').split('\\0').filter(Boolean).join(' ') === process.argv[1]; }
  catch { return false; }
})`;

/**
 * JavaScript source, for `node -e` as CommonJS or as a module: prints the
 * threads of the process `pidExpression` names (it may use `fs`) as JSON,
 * main first.
 */
export function threadsScript(pidExpression: string): string {
  return `{
const fs = process.getBuiltinModule('node:fs');
const pid = String(${pidExpression});
const threads = fs.readdirSync('/proc/' + pid + '/task').map((tid) => {
  const stat = fs.readFileSync('/proc/' + pid + '/task/' + tid + '/stat', 'utf8');
  // After the name in parentheses: state is field 3, nice field 19.
  const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  return { main: tid === pid, name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), nice };
});
console.log(JSON.stringify(threads.sort((a, b) => Number(b.main) - Number(a.main))));
}`;
}
