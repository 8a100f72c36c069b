import { stderr, stdin, stdout } from 'node:process';
import { USER_NAME } from './inbox-users.js';
import { DEFAULT_SCRYPT, MAX_PASSWORD_CHARS, hashPassword } from './password-hash.js';

/**
 * `pnpm inbox-user NAME`: reads a password on standard input and prints the `NAME:hash` entry for
 * `CHATDROP_INBOX_USERS`. On a terminal it asks twice without echoing; from a pipe it takes the
 * first line. Prompts and hints go to stderr, the entry alone to stdout.
 */
const MIN_PASSWORD_CHARS = 12;

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  if (!USER_NAME.test(name) || process.argv.length > 3) {
    fail('usage: pnpm inbox-user NAME   (the password is read from standard input; a name is letters, digits and . _ @ + -)');
  }
  let password: string;
  if (stdin.isTTY) {
    password = await readHidden(`Password for ${name}: `);
    if ((await readHidden('Again: ')) !== password) fail('The two passwords differ; nothing was printed.');
  } else {
    password = firstLine(await readAll());
  }
  const length = [...password].length;
  if (length < MIN_PASSWORD_CHARS) fail(`Use at least ${MIN_PASSWORD_CHARS} characters (a passphrase of a few words is good).`);
  if (length > MAX_PASSWORD_CHARS) fail(`Use at most ${MAX_PASSWORD_CHARS} characters.`);
  const hash = await hashPassword(password);
  stdout.write(`${name}:${hash}\n`);
  stderr.write(
    `scrypt N=2^${DEFAULT_SCRYPT.logN}, r=${DEFAULT_SCRYPT.r}, p=${DEFAULT_SCRYPT.p}, random 16-byte salt. ` +
      `Add the line above to CHATDROP_INBOX_USERS (entries separated by commas; in a shell, single-quote it: it has $ signs).\n`,
  );
}

function fail(message: string): never {
  stderr.write(`${message}\n`);
  process.exit(1);
}

function firstLine(text: string): string {
  const end = text.search(/\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

async function readAll(): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of stdin) {
    parts.push(part as Buffer);
    size += (part as Buffer).length;
    if (size > 64 * 1024) break;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** One line typed on the terminal with echo off: raw mode, so the characters never show. */
function readHidden(prompt: string): Promise<string> {
  stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  let value = '';
  return new Promise((resolve) => {
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          done();
          resolve(value);
          return;
        }
        if (char === '\u0003' || char === '\u0004') {
          done();
          fail('Cancelled; nothing was printed.');
        }
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    stdin.on('data', onData);
  });
}

main().catch((error: unknown) => fail(`inbox-user failed: ${error instanceof Error ? error.message : String(error)}`));
