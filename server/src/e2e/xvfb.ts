import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { stopProcess } from './stop-process.js';

export interface Xvfb {
  /** For `DISPLAY`, e.g. `:99`. */
  display: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A virtual X display of our own, started and stopped by PID (rather than through `xvfb-run`,
 * whose shell wrapper would stand between us and the processes to stop). WebKitGTK's MiniBrowser
 * has no headless mode and needs one. `-displayfd` lets Xvfb pick a free display number and tell
 * us on a pipe once it is ready for clients, so nothing guesses or sleeps.
 */
export async function startXvfb(): Promise<Xvfb> {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const display = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`Xvfb did not report a display within 20 s:\n${stderr}`)), 20_000);
    function fail(error: Error) {
      clearTimeout(timer);
      if (child.pid !== undefined) void stopProcess(child.pid);
      reject(error);
    }
    (child.stdio[3] as Readable).on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${out.trim()}`);
      }
    });
    child.once('error', (error: NodeJS.ErrnoException) =>
      fail(error.code === 'ENOENT' ? new Error('Xvfb is not installed: sudo apt-get install -y --no-install-recommends xvfb') : error),
    );
    child.once('exit', (code) => fail(new Error(`Xvfb exited with ${code} before it was ready:\n${stderr}`)));
  });
  const pid = child.pid!;
  return { display, pid, stop: () => stopProcess(pid) };
}
