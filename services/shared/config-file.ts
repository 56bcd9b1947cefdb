/**
 * Files a setting names (a key, the admin token, webhook URLs, SENDERS_FILE),
 * read once at start-up, each kind with a cap on its size. A mistaken path
 * (/dev/zero, a FIFO nobody writes to, a log file of gigabytes) must stop
 * the start with one line naming the setting, not hang it or fill its
 * memory. So the file is opened without blocking, checked on the opened
 * descriptor to be a regular file, and read for at most cap + 1 bytes,
 * which tells a file that grew past its cap (or a /proc file, whose size
 * says 0) from one within it.
 *
 * The caller turns a failure into its ConfigError: each message is one line,
 * as an errno message is (`ENOENT: no such file or directory, open '/x'`).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

interface FileCap {
  /** The most the file may hold. */
  maxBytes: number;
  /** What the file is, for the message: `a key file`. */
  kind: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** `4 KiB`, `32 MiB`, `10000 KiB`, `100 bytes`. */
export function formatSize(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} bytes`;
}

function fileType(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'a special file';
}

// Not blocking: opening a FIFO would otherwise wait for a writer. Not a controlling terminal either.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/**
 * The bytes of the regular file at `path`, at most `cap.maxBytes` of them.
 * Throws an Error of one line: the system's when the file cannot be opened
 * or read, or one saying it is not a regular file or is larger than the cap.
 */
export function readConfigFile(path: string, cap: FileCap): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${fileType(stat)}, not a regular file`);
    const tooLarge = () =>
      new Error(`larger than ${formatSize(cap.maxBytes)}, the most ${cap.kind} may hold`);
    if (stat.size > cap.maxBytes) throw tooLarge();
    // Room for what fstat says and one byte more; more, up to cap + 1, only if the file grew meanwhile.
    let buffer = Buffer.alloc(Math.min(Math.max(stat.size + 1, 4 * KiB), cap.maxBytes + 1));
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > cap.maxBytes) {
        buffer.fill(0);
        throw tooLarge();
      }
      if (length === buffer.length) {
        const larger = Buffer.alloc(Math.min(buffer.length * 2, cap.maxBytes + 1));
        buffer.copy(larger);
        // What it held may be a secret (a key, a token): no copy is left behind.
        buffer.fill(0);
        buffer = larger;
      }
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** readConfigFile()'s bytes as UTF-8 text; the bytes, which may be a secret, are zeroed once decoded. */
export function readConfigText(path: string, cap: FileCap): string {
  const bytes = readConfigFile(path, cap);
  const text = bytes.toString('utf8');
  bytes.fill(0);
  return text;
}
