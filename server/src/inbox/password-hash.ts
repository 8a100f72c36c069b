import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt's cost: N = 2^logN, block size r, parallelism p. The defaults are the OWASP Password
 * Storage Cheat Sheet's scrypt setting with 32 MiB of memory (N=2^15, r=8, p=3), about as costly
 * as its 128 MiB one. They are written into every hash, so raising them later (a new
 * `pnpm inbox-user` entry) leaves existing entries valid.
 */
export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { logN: 15, r: 8, p: 3 };

/** A stored password: its parameters, salt and derived key. */
export interface PasswordHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Longer passwords are refused before hashing, so a huge one cannot cost more than a normal one. */
export const MAX_PASSWORD_CHARS = 1024;

/**
 * `scrypt$ln=15$r=8$p=3$<salt>$<key>`, salt and key base64url: no `,` or `:`, so an entry
 * `name:hash` sits in the comma-separated `CHATDROP_INBOX_USERS` as it is.
 */
const FORMAT = /^scrypt\$ln=(\d{1,2})\$r=(\d{1,2})\$p=(\d{1,2})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{16,256})$/;

/** Hashes a password with a fresh random salt; the answer is the text form `parsePasswordHash` reads. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `scrypt$ln=${params.logN}$r=${params.r}$p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Reads a hash's text form; undefined when it is not one (or its cost is out of bounds). */
export function parsePasswordHash(text: string): PasswordHash | undefined {
  const match = FORMAT.exec(text);
  if (match === null) return undefined;
  const [, logN, r, p, salt, key] = match;
  const params = { logN: Number(logN), r: Number(r), p: Number(p) };
  // Bounds that keep one check between a few milliseconds and about a second: a typo in the
  // environment must not make every sign-in take minutes or gigabytes.
  if (params.logN < 10 || params.logN > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return undefined;
  if (memoryOf(params) > 512 * 1024 * 1024) return undefined;
  return { params, salt: Buffer.from(salt as string, 'base64url'), key: Buffer.from(key as string, 'base64url') };
}

/**
 * True when `password` matches. The key is derived in full whatever the input, and compared in
 * constant time; scrypt runs on libuv's thread pool, so a sign-in does not block other requests.
 */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  const key = await derive(password.slice(0, MAX_PASSWORD_CHARS), hash.salt, hash.params, hash.key.length);
  return timingSafeEqual(key, hash.key);
}

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  // NFC, so the same password typed on another keyboard or system (é as one or two code points) matches.
  const secret = Buffer.from(password.normalize('NFC'), 'utf8');
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, length, { N: 2 ** params.logN, r: params.r, p: params.p, maxmem: memoryOf(params) + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** scrypt's working memory, 128 * N * r bytes (node refuses more than `maxmem`). */
function memoryOf(params: ScryptParams): number {
  return 128 * 2 ** params.logN * params.r;
}
