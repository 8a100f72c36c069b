import { parsePasswordHash, type PasswordHash } from './password-hash.js';

/** A sign-in name: what `pnpm inbox-user` accepts, and nothing a log line or a header could trip on. */
export const USER_NAME = /^[A-Za-z0-9._@+-]{1,64}$/;

/**
 * `CHATDROP_INBOX_USERS`: comma-separated `name:hash` entries, each printed by `pnpm inbox-user`.
 * Names are compared as written (case matters). Throws an Error naming the entry at fault; the
 * config wraps it into a ConfigError. A hash never appears in the message.
 */
export function parseInboxUsers(raw: string): ReadonlyMap<string, PasswordHash> {
  const users = new Map<string, PasswordHash>();
  for (const entry of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const colon = entry.indexOf(':');
    const name = colon < 0 ? entry : entry.slice(0, colon);
    if (colon < 0 || !USER_NAME.test(name)) {
      throw new Error(`"${colon < 0 ? '(an entry without a colon)' : name.slice(0, 64)}" is not name:hash (a name is letters, digits and . _ @ + -)`);
    }
    const hash = parsePasswordHash(entry.slice(colon + 1));
    if (hash === undefined) throw new Error(`the hash of "${name}" is not one printed by \`pnpm inbox-user ${name}\``);
    if (users.has(name)) throw new Error(`"${name}" appears twice`);
    users.set(name, hash);
  }
  if (users.size === 0) throw new Error('no name:hash entry');
  return users;
}
