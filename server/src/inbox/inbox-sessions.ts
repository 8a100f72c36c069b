import { createHash, randomBytes } from 'node:crypto';
import type { ConversationStore } from '../store/conversation-store.js';

/** A session ends after this long without a request… */
export const SESSION_IDLE_MS = 2 * 60 * 60 * 1000;
/** …and at the latest this long after the sign-in, however busy. */
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000;
/** Last-seen is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 60 * 1000;

export interface InboxSessionsOptions {
  store: ConversationStore;
  now: () => number;
  /**
   * A digest of a user's entry in `CHATDROP_INBOX_USERS`, undefined for a name not there: a
   * session whose user is gone, or whose password has changed since the sign-in, is over.
   */
  credentialOf: (name: string) => string | undefined;
}

/**
 * Sign-in sessions for the support inbox: 256-bit random ids, kept in the store (so every
 * instance knows them, and a restart keeps them) under their SHA-256, with an idle and an
 * absolute lifetime; the store forgets one at whichever comes first.
 */
export class InboxSessions {
  readonly #o: InboxSessionsOptions;

  constructor(options: InboxSessionsOptions) {
    this.#o = options;
  }

  /** A new session for `user`; the id goes into the cookie and nowhere else. */
  async start(user: string): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const now = this.#o.now();
    const credential = this.#o.credentialOf(user) ?? '';
    await this.#o.store.putSession(hashOf(id), { user, credential, createdAt: now, lastSeenAt: now, expiresAt: expiry(now, now) });
    return id;
  }

  /** The signed-in user of a live session, or undefined; refreshes its idle lifetime as it goes. */
  async find(id: string | undefined): Promise<string | undefined> {
    if (id === undefined) return undefined;
    const hash = hashOf(id);
    const session = await this.#o.store.getSession(hash);
    const now = this.#o.now();
    if (session === undefined || session.expiresAt <= now) return undefined;
    if (this.#o.credentialOf(session.user) !== session.credential) {
      await this.#o.store.deleteSession(hash);
      return undefined;
    }
    if (now - session.lastSeenAt >= TOUCH_EVERY_MS) {
      await this.#o.store.putSession(hash, { ...session, lastSeenAt: now, expiresAt: expiry(session.createdAt, now) });
    }
    return session.user;
  }

  async end(id: string | undefined): Promise<void> {
    if (id !== undefined) await this.#o.store.deleteSession(hashOf(id));
  }
}

function expiry(createdAt: number, lastSeenAt: number): number {
  return Math.min(createdAt + SESSION_ABSOLUTE_MS, lastSeenAt + SESSION_IDLE_MS);
}

function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
