import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseInboxUsers } from './inbox-users.js';
import { parsePasswordHash, verifyPassword } from './password-hash.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const PASSWORD = 'lantern meadow 73 quietly';

/**
 * A command in a real pseudo-terminal: util-linux's `script` (in Debian's essential bsdutils, so
 * on every machine the tests run on) gives it a pty as its terminal and copies everything the
 * terminal shows (echo included) to its own stdout, which the test reads. The shell prints the
 * pty's path first, so the test can look at the terminal's modes with `stty -F`.
 */
function inTerminal(command: string) {
  const child = spawn('script', ['-qec', `tty; ${command}`, '/dev/null'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let shown = '';
  const waiters = new Set<() => void>();
  const onOutput = (chunk: Buffer) => {
    shown += chunk.toString('utf8');
    for (const wake of waiters) wake();
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    shown: () => shown,
    /** Resolves once the terminal has shown `text` (after `from`); rejects after `timeoutMs`. */
    async waitFor(text: string, from = 0, timeoutMs = 60_000): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      while (shown.indexOf(text, from) < 0) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the terminal never showed ${JSON.stringify(text)}; it showed: ${JSON.stringify(shown)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(wake, 1_000);
          function wake() {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          }
          waiters.add(wake);
        });
      }
      return shown.indexOf(text, from) + text.length;
    },
    /** The pty's path, as `tty` printed it. */
    async pts(): Promise<string> {
      await this.waitFor('\n');
      const path = shown.slice(0, shown.indexOf('\n')).trim();
      expect(path).toMatch(/^\/dev\/pts\/\d+$/);
      return path;
    },
    type(keys: string) {
      child.stdin.write(keys);
    },
    async exit(): Promise<number | null> {
      const code = await exited;
      return code;
    },
    end() {
      child.stdin.end();
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Whether the terminal echoes what is typed (`stty -a` lists `echo` or `-echo`). */
function echoes(pts: string): boolean {
  const modes = spawnSync('stty', ['-F', pts, '-a'], { encoding: 'utf8' });
  if (modes.status !== 0) throw new Error(`stty -F ${pts} failed: ${modes.stderr}`);
  return /(^|\s)echo(\s|$)/.test(modes.stdout);
}

/** Waits until the program has turned echo off (it sets raw mode right after its prompt). */
async function echoTurnedOff(pts: string): Promise<void> {
  await expect.poll(() => echoes(pts), { timeout: 10_000, interval: 20 }).toBe(false);
}

describe('pnpm inbox-user in a real terminal', () => {
  it('shows what is typed in the same terminal by default (so the test below can see an echo)', async () => {
    const terminal = inTerminal('head -n1');
    try {
      const pts = await terminal.pts();
      expect(echoes(pts)).toBe(true);
      terminal.type('plainly visible words\r');
      await terminal.waitFor('plainly visible words');
    } finally {
      terminal.kill();
    }
  });

  it('reads the password twice without echoing it and prints an entry that verifies', async () => {
    const terminal = inTerminal('pnpm --silent inbox-user alice');
    try {
      const pts = await terminal.pts();
      const asked = await terminal.waitFor('Password for alice: ');
      await echoTurnedOff(pts);
      terminal.type(`${PASSWORD}\r`);
      await terminal.waitFor('Again: ', asked);
      await echoTurnedOff(pts);
      // Typed one key at a time, as a person does, with a correction.
      for (const key of `${PASSWORD}x\u007f`) terminal.type(key);
      terminal.type('\r');
      await terminal.waitFor('CHATDROP_INBOX_USERS');
      terminal.end();
      expect(await terminal.exit()).toBe(0);
    } finally {
      terminal.kill();
    }
    const shown = terminal.shown();
    expect(shown).not.toContain(PASSWORD);
    expect(shown).not.toContain('lantern');
    expect(shown).not.toMatch(/\*{4,}/); // no stand-in characters either: nothing that tells its length
    const entries = shown.split(/\r?\n/).filter((line) => line.startsWith('alice:'));
    expect(entries).toHaveLength(1);
    const entry = entries[0] as string;
    // What the server does with the line: CHATDROP_INBOX_USERS parses it, the password verifies.
    const hash = parseInboxUsers(entry).get('alice');
    expect(hash).toBeDefined();
    expect(await verifyPassword(PASSWORD, hash!)).toBe(true);
    expect(await verifyPassword(`${PASSWORD}x`, hash!)).toBe(false);
    expect(parsePasswordHash(entry.slice('alice:'.length))?.params).toEqual({ logN: 15, r: 8, p: 3 });
  }, 90_000);

  it('prints nothing when the two passwords differ', async () => {
    const terminal = inTerminal('pnpm --silent inbox-user alice');
    try {
      const pts = await terminal.pts();
      const asked = await terminal.waitFor('Password for alice: ');
      await echoTurnedOff(pts);
      terminal.type(`${PASSWORD}\r`);
      await terminal.waitFor('Again: ', asked);
      await echoTurnedOff(pts);
      terminal.type('a different passphrase\r');
      await terminal.waitFor('nothing was printed');
      terminal.end();
      expect(await terminal.exit()).toBe(1);
    } finally {
      terminal.kill();
    }
    expect(terminal.shown()).not.toContain('alice:scrypt');
    expect(terminal.shown()).not.toContain(PASSWORD);
    expect(terminal.shown()).not.toContain('a different passphrase');
  }, 90_000);
});
