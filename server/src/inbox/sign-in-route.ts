import { createHash } from 'node:crypto';
import { Router, type Request, type RequestHandler } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ApiError, sendApiError } from '../http/api-error.js';
import { jsonBody } from '../http/json-body.js';
import { requestLog } from '../http/request-id.js';
import { clientKey } from '../limits/client-key.js';
import { createRateLimitStore } from '../limits/rate-limit-store.js';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import type { InboxSessions } from './inbox-sessions.js';
import { SESSION_ABSOLUTE_MS } from './inbox-sessions.js';
import { DEFAULT_SCRYPT, MAX_PASSWORD_CHARS, verifyPassword, type PasswordHash } from './password-hash.js';
import type { SessionCookie } from './session-cookie.js';

/** Failed sign-ins allowed per minute, from one address and for one name; the next is refused. */
export const SIGN_IN_FAILURES_PER_MINUTE = 10;
/**
 * Password checks run at once on one instance, and waiting for their turn; past both, a sign-in is
 * answered 503 `busy` before any hashing. Each check is scrypt: 32 MiB and a few hundred ms of one
 * of libuv's four threads, the pool that also resolves DNS (the upstream's included) and runs
 * zlib. The per-address limit holds one address, not a thousand (a botnet, a /48 holds 256 /56s):
 * without a bound of its own their guesses would queue up in the pool and stall everything else.
 */
export const PASSWORD_CHECKS_AT_ONCE = 2;
export const PASSWORD_CHECKS_WAITING = 8;

export interface SignInRouteOptions {
  users: ReadonlyMap<string, PasswordHash>;
  sessions: InboxSessions;
  cookie: SessionCookie;
  /** Shares the failure counts across instances when set. */
  redis?: Redis;
}

const signInSchema = z.object({
  user: z.string().max(200),
  password: z.string().max(MAX_PASSWORD_CHARS),
});

/**
 * `POST /api/inbox/session` signs in, `DELETE` signs out, `GET` says who is signed in.
 *
 * A name that does not exist costs the same as a wrong password: its password is checked against
 * a stand-in hash with the same scrypt cost, and the answer and the message are the same. Failed
 * attempts are counted per client address (`clientKey`: an IPv6 /56 counts once) and per name,
 * in Redis when several instances run; the 11th within a minute is refused before any hashing,
 * even with the right password. Every failure and refusal is logged, never the password (and a
 * name that is not a user only as a short hash: it may be a password typed in the wrong field).
 */
export function signInRouter(options: SignInRouteOptions): Router {
  const { users, sessions, cookie } = options;
  const router = Router();
  // The same cost as the first configured user's hash, so "no such user" takes as long as "wrong password".
  const standIn: PasswordHash = {
    params: users.values().next().value?.params ?? DEFAULT_SCRYPT,
    salt: Buffer.alloc(16),
    key: Buffer.alloc(32),
  };

  const checks = new Slots(PASSWORD_CHECKS_AT_ONCE, PASSWORD_CHECKS_WAITING);
  const isUser = (name: string) => users.has(name);
  const byAddress = failureLimit('address', (req) => clientKey(req), isUser, options.redis);
  const byName = failureLimit('name', (req) => nameHash(String((req.body as { user?: unknown }).user ?? '')), isUser, options.redis);

  router.post('/', byAddress, ...jsonBody('8kb'), byName, async (req, res) => {
    const parsed = signInSchema.safeParse(req.body);
    if (!parsed.success) throw new ApiError('bad-request', 400, 'Sign in with a user name and a password.');
    const { user, password } = parsed.data;
    const hash = users.get(user);
    const release = await checks.take();
    if (release === undefined) {
      requestLog(res).warn({ client: clientKey(req) }, 'inbox sign-in refused: too many password checks at once');
      throw new ApiError('busy', 503, 'Too many people are signing in right now. Please try again in a moment.', 2);
    }
    let matches: boolean;
    try {
      matches = await verifyPassword(password, hash ?? standIn);
    } finally {
      release();
    }
    const log = requestLog(res);
    if (hash === undefined || !matches) {
      log.warn({ ...who(user, hash !== undefined), client: clientKey(req), reason: hash === undefined ? 'unknown-user' : 'wrong-password' }, 'inbox sign-in failed');
      throw new ApiError('bad-request', 401, 'That user name and password do not match.');
    }
    // A fresh id on every sign-in (no fixation); a session this browser had before ends.
    await sessions.end(cookie.read(req.get('cookie')));
    const id = await sessions.start(user);
    log.info({ user, client: clientKey(req) }, 'inbox sign-in');
    res.setHeader('Set-Cookie', cookie.set(id, SESSION_ABSOLUTE_MS / 1000));
    res.setHeader('Cache-Control', 'no-store');
    res.json({ user });
  });

  return router;
}

/**
 * express-rate-limit counting failures only (`skipSuccessfulRequests`: an answer below 400 gives
 * its count back). A store that cannot be reached refuses the sign-in with 503 rather than
 * letting unlimited guesses through.
 */
function failureLimit(
  kind: 'address' | 'name',
  key: (req: Request) => string,
  isUser: (name: string) => boolean,
  redis: Redis | undefined,
): RequestHandler {
  const store: Store | undefined = redis === undefined ? undefined : createRateLimitStore(redis, `chatdrop:inbox-sign-in:${kind}:`);
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: SIGN_IN_FAILURES_PER_MINUTE,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: key,
    ...(store === undefined ? {} : { store }),
    passOnStoreError: false,
    // As in chat-rate-limit.ts: the key is `req.ip`, trusted only as far as TRUST_PROXY says.
    validate: { xForwardedForHeader: false, forwardedHeader: false },
    handler: (req, res) => {
      const user = String((req.body as { user?: unknown } | undefined)?.user ?? '');
      requestLog(res).warn({ ...(user === '' ? {} : who(user, isUser(user))), client: clientKey(req), limit: kind }, 'inbox sign-in refused: too many failed attempts');
      const retryAfter = Number(res.getHeader('Retry-After')) || 60;
      sendApiError(res, new ApiError('rate-limited', 429, 'Too many failed sign-ins. Please wait a minute and try again.', retryAfter));
    },
  });
  return (req, res, next) => {
    void limiter(req, res, (error?: unknown) =>
      next(error === undefined ? undefined : new StoreUnavailableError('the sign-in limit could not be counted', { cause: error })),
    );
  };
}

/** A user's name for the log; a name that is not a user only as a short hash of what was typed. */
function who(user: string, known: boolean): { user: string } | { unknownUser: string } {
  return known ? { user } : { unknownUser: nameHash(user).slice(0, 12) };
}

function nameHash(user: string): string {
  return createHash('sha256').update(user).digest('hex');
}

/** At most `running` at once and `waiting` in line, first come first served; past both, none. */
class Slots {
  #running = 0;
  readonly #line: (() => void)[] = [];

  constructor(
    readonly running: number,
    readonly waiting: number,
  ) {}

  async take(): Promise<(() => void) | undefined> {
    if (this.#running >= this.running) {
      if (this.#line.length >= this.waiting) return undefined;
      await new Promise<void>((resolve) => this.#line.push(resolve));
    } else {
      this.#running++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next in line, or is freed.
      const next = this.#line.shift();
      if (next === undefined) this.#running--;
      else next();
    };
  }
}
