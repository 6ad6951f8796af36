import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { imageOpenError, type ByteInput } from './input';
import { classifyFailure, decodeFailure } from './decode-error';

const STDERR_LIMIT = 16 * 1024;

/** A system decompressor run as a child process: compressed bytes in on stdin, image bytes out on stdout. */
export interface ChildDecoderSpec {
  program: string;
  args: string[];
  /** Format name for messages, e.g. "xz". */
  format: string;
}

/**
 * The decoder's first line of complaint, without "/usr/bin/xz: (stdin):" style prefixes (the message names
 * the file itself) and without bzip2's multi-line advice.
 */
function cleanStderr(text: string): string {
  const line = text
    .split('\n')
    .map((l) => l.replace(/^\S*?(xz|zstd|bzip2|lbzip2): /, '').replace(/\(stdin\):\s*|\/\*stdin\*\\?\s*:\s*/g, '').trim())
    .find((l) => l.length > 0);
  return (line ?? '').replace(/;$/, '');
}

/** Pids of decoder children still running, for close() and for tests. */
export const runningChildren = new Set<number>();

/**
 * Streams a child decoder's stdout. A non-zero exit becomes SOURCE_TRUNCATED / SOURCE_CORRUPT with the
 * child's stderr; stopping early (break, error downstream) kills the child and waits for it to exit.
 */
export async function* childDecode(input: ByteInput, spec: ChildDecoderSpec): AsyncGenerator<Buffer> {
  // Opened first: a one-shot stream that was already read throws here, before any child exists.
  const pipedInput = input.kind === 'stream' ? input.open() : null;
  // A file is handed over as the child's stdin descriptor: Node never touches compressed bytes.
  let fd: number | null = null;
  if (input.kind === 'file') {
    try {
      fd = openSync(input.path, 'r');
    } catch (err) {
      pipedInput?.destroy();
      throw imageOpenError(input.path, err);
    }
  }
  const child = spawn(spec.program, spec.args, { stdio: [fd ?? 'pipe', 'pipe', 'pipe'] });
  if (fd !== null) closeSync(fd);
  const { stdout, stderr: errStream } = child;
  if (!stdout || !errStream) throw new Error('decoder child has no stdout/stderr pipes');
  const pid = child.pid;
  if (pid !== undefined) runningChildren.add(pid);
  let stderr = '';
  errStream.setEncoding('utf8');
  errStream.on('data', (text: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += text;
  });
  let spawnError: Error | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // A piped input that fails (a download that broke off for good, a checksum that did not match) must end
  // the child, which would otherwise wait for more input forever, and is what the consumer hears about.
  let inputError: unknown = null;
  if (pipedInput && child.stdin) {
    child.stdin.on('error', () => {
      // EPIPE when the child stops reading: its exit status tells what happened.
    });
    pipedInput.once('error', (err) => {
      inputError = err;
      child.kill('SIGTERM');
    });
    pipedInput.pipe(child.stdin);
  }
  let bytesOut = 0;
  let finished = false;
  try {
    for await (const chunk of stdout as AsyncIterable<Buffer>) {
      bytesOut += chunk.length;
      yield chunk;
    }
    const { code, signal } = await exited;
    finished = true;
    if (inputError !== null) throw inputError;
    if (spawnError !== null) {
      throw decodeFailure(input.path, spec.format, 'corrupt', bytesOut, `cannot run ${spec.program}: ${(spawnError as Error).message}`);
    }
    if (code !== 0) {
      const detail = cleanStderr(stderr) || `${spec.program} exited with ${signal ?? `code ${code}`}`;
      throw decodeFailure(input.path, spec.format, classifyFailure(stderr, false), bytesOut, detail);
    }
  } finally {
    if (!finished) {
      stdout.destroy();
      child.kill('SIGTERM');
      await exited;
    }
    pipedInput?.destroy();
    if (pid !== undefined) runningChildren.delete(pid);
  }
}
