import { createHash } from 'node:crypto';
import type { ConversationPage, ConversationSummary, Figures, SessionInfo, Transcript } from '@chatdrop/shared';
import { Router, type RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { deleteConversation } from '../chat/delete-conversation.js';
import type { ReplyRegistry } from '../chat/reply-registry.js';
import { ApiError, apiNotFound } from '../http/api-error.js';
import { requestLog } from '../http/request-id.js';
import type { TokenBudget } from '../limits/token-budget.js';
import type { ReplyBus } from '../replies/reply-bus/reply-bus.js';
import type { ConversationStore } from '../store/conversation-store.js';
import { DAY_MS, type InboxPage, type InboxQuery } from '../store/inbox-query.js';
import { exportRoute } from './export-route.js';
import { listHandedOff } from './handoff-listing.js';
import { handoffMark } from './handoff-mark.js';
import type { HandoffRecord, InboxHandoffs, KnowledgeStatus } from './inbox-inputs.js';
import { parseListQuery } from './inbox-query-schema.js';
import { InboxSessions } from './inbox-sessions.js';
import type { PasswordHash } from './password-hash.js';
import { sameOrigin } from './same-origin.js';
import { sessionCookie } from './session-cookie.js';
import { signInRouter } from './sign-in-route.js';

export interface InboxRouterOptions {
  config: Config;
  /** `config.inboxUsers`, known to be set: the router is mounted only then. */
  users: ReadonlyMap<string, PasswordHash>;
  store: ConversationStore;
  /** The site's daily token budget, for "tokens used today" beside the figures. */
  budget: TokenBudget;
  replies: ReplyRegistry;
  bus: ReplyBus;
  now: () => number;
  /** When set, failed sign-ins are counted across instances. */
  redis?: Redis;
  /**
   * Hand-off marks for the listing and the transcript, the hand-off filter, and forgetting a
   * deleted conversation's hand-off (server/src/handoff). Absent: no marks, no filter.
   */
  handoffs?: InboxHandoffs;
  /** The knowledge index's state (server/src/knowledge), shown with the figures. Absent: no panel. */
  knowledgeStatus?: () => Promise<KnowledgeStatus>;
}

/** A short digest of a password entry (its salt and key): changes whenever the password does. */
function credentialOf(hash: PasswordHash | undefined): string | undefined {
  return hash && createHash('sha256').update(hash.salt).update(hash.key).digest('base64url').slice(0, 22);
}

/** Longest range of the daily figures, in days. */
const MAX_FIGURE_DAYS = 90;

/**
 * `/api/inbox/...`: the support inbox's API, for the inbox page only (no CORS headers, no other
 * origin). Every route but the sign-in answers 401 without a live session; every POST and DELETE
 * must carry the public origin as `Origin`; nothing is cached. Mounted by `createApp` only when
 * `CHATDROP_INBOX_USERS` is set, so without it every path here is a 404.
 */
export function inboxApiRouter(options: InboxRouterOptions): Router {
  const { config, users, store, now, handoffs } = options;
  const router = Router();
  const cookie = sessionCookie(new URL(config.publicOrigin).protocol === 'https:');
  const sessions = new InboxSessions({ store, now, credentialOf: (name) => credentialOf(users.get(name)) });

  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use(sameOrigin(config.publicOrigin));
  router.use('/session', signInRouter({ users, sessions, cookie, redis: options.redis }));

  const requireSession: RequestHandler = async (req, res, next) => {
    const id = cookie.read(req.get('cookie'));
    const user = await sessions.find(id);
    if (user === undefined) {
      // A cookie that opens nothing (expired, signed out elsewhere) goes.
      if (id !== undefined) res.setHeader('Set-Cookie', cookie.clear());
      throw new ApiError('bad-request', 401, 'Please sign in to the inbox.');
    }
    res.locals.inboxUser = user;
    next();
  };
  router.use(requireSession);

  router.get('/session', (_req, res) => {
    res.json({
      user: res.locals.inboxUser as string,
      models: config.models.map((m) => m.alias),
      handoff: handoffs !== undefined,
      knowledge: options.knowledgeStatus !== undefined,
    } satisfies SessionInfo);
  });

  router.delete('/session', async (req, res) => {
    await sessions.end(cookie.read(req.get('cookie')));
    requestLog(res).info({ user: res.locals.inboxUser as string }, 'inbox sign-out');
    res.setHeader('Set-Cookie', cookie.clear());
    res.status(204).end();
  });

  // The listing, or with the hand-off filter the walk of the outbox's index (handoff-listing.ts).
  const list = (query: InboxQuery, handoff: boolean): Promise<InboxPage> => {
    if (!handoff) return store.listConversations(query);
    if (handoffs === undefined) throw new ApiError('bad-request', 400, 'Hand-offs are not set up on this server.');
    return listHandedOff(store, handoffs, query);
  };
  const handoffsFor = async (ids: string[]): Promise<ReadonlyMap<string, readonly HandoffRecord[]>> =>
    handoffs === undefined || ids.length === 0 ? new Map() : handoffs.handoffsFor(ids);

  router.get('/conversations', async (req, res) => {
    const { filter, handoff, cursor, limit } = parseListQuery(req.query);
    const page = await list({ ...filter, limit, ...(cursor === undefined ? {} : { cursor }) }, handoff);
    const found = await handoffsFor(page.conversations.map((c) => c.id));
    // Each answer is checked against its `@chatdrop/shared` type, which the inbox page reads too;
    // the callback names its own, since `satisfies` does not reach into a callback's result.
    res.json({
      conversations: page.conversations.map((c): ConversationSummary => ({ ...c, handoff: handoffMark(found.get(c.id) ?? []) })),
      next: page.next,
    } satisfies ConversationPage);
  });

  router.get('/conversations/:id', async (req, res) => {
    const transcript = await store.getTranscript(req.params.id);
    if (transcript === undefined) throw new ApiError('not-found', 404, 'This conversation does not exist (any more).');
    // Every hand-off, oldest first, with each channel's delivery; `[]` where hand-offs are set up
    // and there is none, absent where they are not.
    const records = handoffs === undefined ? undefined : ((await handoffsFor([transcript.id])).get(transcript.id) ?? []);
    res.json({ ...transcript, handoff: handoffMark(records ?? []), handoffs: records } satisfies Transcript);
  });

  router.delete('/conversations/:id', async (req, res) => {
    const id = req.params.id;
    const user = res.locals.inboxUser as string;
    const log = requestLog(res);
    const existed = await deleteConversation(options, id);
    // Deleted from the inbox means deleted everywhere: the hand-off outbox's copies too (pending
    // deliveries are cancelled). Also when the conversation is already gone, so that a retry after
    // the outbox could not be reached (a 503) finishes the job.
    await handoffs?.forget(id).catch((error: unknown) => {
      log.error({ err: error, user, conversationId: id }, 'could not delete the hand-offs of a deleted conversation');
      throw error;
    });
    if (!existed) throw new ApiError('not-found', 404, 'This conversation does not exist (any more).');
    log.info({ user, conversationId: id }, 'inbox conversation deleted');
    res.status(204).end();
  });

  router.get('/export', exportRoute({ store, handoffs, now, list }));

  router.get('/figures', async (req, res) => {
    const raw = typeof req.query.days === 'string' ? req.query.days : '14';
    const days = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
    if (!(days >= 1 && days <= MAX_FIGURE_DAYS)) throw new ApiError('bad-request', 400, `Ask for 1 to ${MAX_FIGURE_DAYS} days of figures.`);
    const today = Math.floor(now() / DAY_MS);
    const [figures, usedToday, knowledge] = await Promise.all([
      store.dailyFigures((today - days + 1) * DAY_MS, (today + 1) * DAY_MS),
      config.dailyTokenBudget === undefined ? undefined : options.budget.used().catch(() => undefined),
      options.knowledgeStatus?.().catch((error: unknown) => {
        requestLog(res).error({ err: error }, 'knowledge status unavailable');
        return null;
      }),
    ]);
    res.json({ days: figures, budget: { limit: config.dailyTokenBudget ?? null, usedToday: usedToday ?? null }, knowledge } satisfies Figures);
  });

  router.use(apiNotFound);
  return router;
}
