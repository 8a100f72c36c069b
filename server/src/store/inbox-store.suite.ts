import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationStore } from './conversation-store.js';
import type { ConversationSummary, InboxFilter, ReplyMeta } from './inbox-query.js';
import type { OpenedStore, SuiteClock } from './conversation-store.suite.js';

const START = Date.UTC(2030, 0, 7, 9, 0, 0);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const UNKNOWN_ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';

const meta = (over: Partial<ReplyMeta> = {}): ReplyMeta => ({
  model: 'fast',
  upstreamModel: 'gpt-test',
  finishReason: 'stop',
  firstTokenMs: 120,
  durationMs: 900,
  inputTokens: 30,
  outputTokens: 12,
  ...over,
});

/**
 * The support inbox's part of the store suite: listing, filters, search, transcripts and daily
 * figures, the same for every backend. Called by `conversationStoreSuite`.
 */
export function inboxStoreSuite(name: string, open: (clock: SuiteClock) => Promise<OpenedStore>): void {
  describe(`ConversationStore inbox: ${name}`, () => {
    let now = START;
    let opened: OpenedStore;
    let store: ConversationStore;

    beforeEach(async () => {
      now = START;
      opened = await open({ now: () => now });
      store = opened.store;
    });

    afterEach(async () => {
      await store.close();
      await opened.cleanup();
    });

    /** A conversation: the question, then the reply streamed and finished as `reply` says. */
    async function conversation(question: string, reply: { text?: string; meta?: Partial<ReplyMeta>; rating?: 'up' | 'down'; page?: string } = {}): Promise<string> {
      const id = await store.createConversation();
      await store.appendMessage(id, { role: 'user', content: question, status: 'complete', ...(reply.page ? { page: reply.page } : {}) });
      const answer = await store.appendMessage(id, { role: 'assistant', content: '', status: 'incomplete' });
      if (!answer) throw new Error('append failed');
      const text = reply.text ?? `An answer to: ${question}`;
      await store.updateMessage(id, answer.id, { content: text.slice(0, 5), status: 'incomplete' });
      const m = meta(reply.meta);
      const complete = m.finishReason === 'stop' || m.finishReason === 'length';
      await store.updateMessage(id, answer.id, { content: text, status: complete ? 'complete' : 'incomplete', meta: m });
      if (reply.rating) await store.setFeedback(id, answer.id, reply.rating);
      now += MINUTE;
      return id;
    }

    /** Every page of a query, following the cursors. */
    async function all(filter: InboxFilter, limit = 2): Promise<ConversationSummary[]> {
      const out: ConversationSummary[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await store.listConversations({ ...filter, limit, ...(cursor ? { cursor } : {}) });
        expect(page.conversations.length).toBeLessThanOrEqual(limit);
        out.push(...page.conversations);
        cursor = page.next;
        if (cursor === undefined) return out;
      }
      throw new Error('the cursors never ended');
    }

    it('lists conversations newest first with their first question, page, length and ratings', async () => {
      const first = await conversation('How do I reset my password?', { rating: 'up', page: 'https://help.example.com/account' });
      const second = await conversation('Where is my invoice?', { rating: 'down', page: 'https://help.example.com/billing' });
      const page = await store.listConversations({ limit: 50 });
      expect(page.next).toBeUndefined();
      expect(page.conversations.map((c) => c.id)).toEqual([second, first]);
      expect(page.conversations[1]).toEqual({
        id: first,
        createdAt: new Date(START).toISOString(),
        updatedAt: expect.any(String),
        page: 'https://help.example.com/account',
        firstQuestion: 'How do I reset my password?',
        messages: 2,
        up: 1,
        down: 0,
        incomplete: 0,
        failed: 0,
      });
      expect(page.conversations[0]).toMatchObject({ firstQuestion: 'Where is my invoice?', up: 0, down: 1 });
    });

    it('pages by cursor without repeating or skipping, even when conversations start in the same millisecond', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push(await conversation(`question ${i}`));
        if (i % 3 !== 0) now -= MINUTE; // several share a start time
      }
      const listed = await all({}, 3);
      expect(listed).toHaveLength(7);
      expect(new Set(listed.map((c) => c.id))).toEqual(new Set(ids));
      const times = listed.map((c) => Date.parse(c.createdAt));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it('keeps the first page a conversation was given and cuts a long first question', async () => {
      const id = await store.createConversation();
      await store.appendMessage(id, { role: 'user', content: `${'é'.repeat(300)}!`, status: 'complete', page: 'https://a.example/start' });
      await store.appendMessage(id, { role: 'user', content: 'again', status: 'complete', page: 'https://a.example/other' });
      const [summary] = (await store.listConversations({ limit: 10 })).conversations;
      expect(summary?.page).toBe('https://a.example/start');
      expect(summary?.firstQuestion).toBe('é'.repeat(280));
      expect((await store.getTranscript(id))?.page).toBe('https://a.example/start');
    });

    it('lists a chat turn stored in one step like any other, and a Retry in one step keeps its counts right', async () => {
      const turn = await store.appendTurn({
        question: { role: 'user', content: 'Is the shop open on Sunday?', status: 'complete', page: 'https://shop.example/hours', tokens: 8 },
        reply: { role: 'assistant', content: '', status: 'incomplete' },
      });
      if (!turn?.question) throw new Error('no turn');
      const id = turn.conversationId;
      await store.updateMessage(id, turn.reply.id, { content: 'Yes', status: 'incomplete', meta: meta({ finishReason: 'error', errorCode: 'upstream-unavailable' }) });
      let [summary] = (await store.listConversations({ limit: 10 })).conversations;
      expect(summary).toMatchObject({ id, page: 'https://shop.example/hours', firstQuestion: 'Is the shop open on Sunday?', messages: 2, incomplete: 1, failed: 1 });

      const retry = await store.appendTurn({ conversationId: id, replaces: turn.reply.id, reply: { role: 'assistant', content: '', status: 'incomplete' } });
      if (!retry) throw new Error('no retry');
      await store.updateMessage(id, retry.reply.id, { content: 'Yes, from nine.', status: 'complete', meta: meta() });
      [summary] = (await store.listConversations({ limit: 10 })).conversations;
      expect(summary).toMatchObject({ id, messages: 2, incomplete: 0, failed: 0 });
      expect((await all({ text: 'sunday' })).map((c) => c.id)).toEqual([id]);
      expect((await all({ text: 'nine' })).map((c) => c.id)).toEqual([id]);
      // The transcript answers the contract's fields: the token count the store keeps stays inside.
      expect((await store.getTranscript(id))?.messages[0]).toEqual({
        id: turn.question.id, role: 'user', content: 'Is the shop open on Sunday?', status: 'complete', createdAt: new Date(START).toISOString(),
      });
    });

    it('marks failed and incomplete replies, and counts them by what each reply came to', async () => {
      const ok = await conversation('fine');
      const failed = await conversation('broken', { meta: { finishReason: 'error', errorCode: 'upstream-unavailable' } });
      const stopped = await conversation('stopped', { meta: { finishReason: 'aborted' } });
      const summaries = new Map((await store.listConversations({ limit: 10 })).conversations.map((c) => [c.id, c]));
      expect(summaries.get(ok)).toMatchObject({ incomplete: 0, failed: 0 });
      expect(summaries.get(failed)).toMatchObject({ incomplete: 1, failed: 1 });
      expect(summaries.get(stopped)).toMatchObject({ incomplete: 1, failed: 0 });
      expect((await all({ problem: 'failed' })).map((c) => c.id)).toEqual([failed]);
      expect((await all({ problem: 'incomplete' })).map((c) => c.id)).toEqual([stopped, failed]);
    });

    it('filters by rating, model, page, date range and ids, alone and together', async () => {
      const a = await conversation('alpha', { rating: 'down', page: 'https://shop.example/Checkout' });
      const b = await conversation('bravo', { rating: 'up', meta: { model: 'smart' } });
      now += DAY;
      const c = await conversation('charlie', { rating: 'down', meta: { model: 'smart' }, page: 'https://shop.example/cart' });
      const d = await conversation('delta');
      expect((await all({ rating: 'down' })).map((x) => x.id)).toEqual([c, a]);
      expect((await all({ rating: 'up' })).map((x) => x.id)).toEqual([b]);
      expect((await all({ model: 'smart' })).map((x) => x.id)).toEqual([c, b]);
      expect((await all({ model: 'nope' })).map((x) => x.id)).toEqual([]);
      expect((await all({ page: 'checkout' })).map((x) => x.id)).toEqual([a]);
      expect((await all({ page: 'shop.example/' })).map((x) => x.id)).toEqual([c, a]);
      expect((await all({ page: '%' })).map((x) => x.id)).toEqual([]);
      expect((await all({ from: START + DAY })).map((x) => x.id)).toEqual([d, c]);
      expect((await all({ to: START + DAY })).map((x) => x.id)).toEqual([b, a]);
      expect((await all({ from: START + MINUTE, to: START + DAY + 3 * MINUTE })).map((x) => x.id)).toEqual([c, b]);
      expect((await all({ rating: 'down', model: 'smart', from: START + DAY })).map((x) => x.id)).toEqual([c]);
      expect((await all({ ids: [a, d, UNKNOWN_ID, 'junk'] })).map((x) => x.id)).toEqual([d, a]);
      expect((await all({ ids: [a, d], rating: 'down' })).map((x) => x.id)).toEqual([a]);
      expect((await all({ ids: [] })).map((x) => x.id)).toEqual([]);
    });

    it('keeps the summary right when a rating changes and when a failed reply is retried', async () => {
      const id = await store.createConversation();
      await store.appendMessage(id, { role: 'user', content: 'retry me', status: 'complete' });
      const failed = await store.appendMessage(id, { role: 'assistant', content: '', status: 'incomplete' });
      await store.updateMessage(id, failed!.id, { content: 'half', status: 'incomplete', meta: meta({ finishReason: 'error' }) });
      await store.setFeedback(id, failed!.id, 'up');
      await store.setFeedback(id, failed!.id, 'down');
      let [summary] = (await store.listConversations({ limit: 1 })).conversations;
      expect(summary).toMatchObject({ messages: 2, up: 0, down: 1, incomplete: 1, failed: 1 });

      expect(await store.deleteMessage(id, failed!.id)).toBe(true);
      const retried = await store.appendMessage(id, { role: 'assistant', content: '', status: 'incomplete' });
      await store.updateMessage(id, retried!.id, { content: 'whole', status: 'complete', meta: meta() });
      [summary] = (await store.listConversations({ limit: 1 })).conversations;
      expect(summary).toMatchObject({ messages: 2, up: 0, down: 0, incomplete: 0, failed: 0 });
      expect(await all({ rating: 'down' })).toEqual([]);
      expect(await all({ problem: 'failed' })).toEqual([]);
    });

    it('finds conversations by the words of visitors and assistant, as word prefixes, ignoring case and accents', async () => {
      const refund = await conversation('Can I get my money back?', { text: 'Refunds are issued within 5 days.' });
      const cafe = await conversation('Is the Café open on Sunday?', { text: 'Yes, from nine.' });
      const both = await conversation('refund for the café voucher', { text: 'Sure.' });
      expect((await all({ text: 'refund' })).map((c) => c.id)).toEqual([both, refund]);
      expect((await all({ text: 'REFUNDS' })).map((c) => c.id)).toEqual([refund]);
      expect((await all({ text: 'cafe' })).map((c) => c.id)).toEqual([both, cafe]);
      expect((await all({ text: 'money back' })).map((c) => c.id)).toEqual([refund]);
      expect((await all({ text: 'refund voucher' })).map((c) => c.id)).toEqual([both]);
      expect((await all({ text: 'sunday refund' })).map((c) => c.id)).toEqual([]);
      // A word inside another word is not a match: search is by word starts.
      expect((await all({ text: 'fund' })).map((c) => c.id)).toEqual([]);
    });

    it('finds a conversation by words from different messages, each word anywhere in the conversation', async () => {
      const split = await conversation('Where is my parcel?', { text: 'Your courier collects it tomorrow.' });
      const onlyParcel = await conversation('My parcel is late', { text: 'Sorry about that.' });
      const onlyCourier = await conversation('Which courier do you use?', { text: 'A local one.' });
      expect((await all({ text: 'parcel courier' })).map((c) => c.id)).toEqual([split]);
      expect((await all({ text: 'courier parcel' })).map((c) => c.id)).toEqual([split]);
      // Prefixes still count, in either message, and every word is still needed.
      expect((await all({ text: 'parc cour tomorrow' })).map((c) => c.id)).toEqual([split]);
      expect((await all({ text: 'parcel courier late' })).map((c) => c.id)).toEqual([]);
      expect((await all({ text: 'parcel' })).map((c) => c.id)).toEqual([onlyParcel, split]);
      // Among given conversations (the hand-off filter's batch) the words may be apart too.
      expect((await all({ text: 'parcel courier', ids: [split, onlyParcel, onlyCourier] })).map((c) => c.id)).toEqual([split]);
      expect((await all({ text: 'parcel courier', ids: [onlyParcel, onlyCourier] })).map((c) => c.id)).toEqual([]);

      // Many matches, with the words apart or together and decoys between: each page gives new
      // ones, and following the cursors lists every match once, newest first.
      const matching: string[] = [split];
      for (let i = 0; i < 7; i++) {
        matching.push(await conversation(i % 2 === 0 ? `parcel number ${i}` : `parcel and courier ${i}`, { text: i % 2 === 0 ? 'The courier has it.' : 'Soon.' }));
        await conversation(`parcel alone ${i}`, { text: 'Nothing else.' });
        await conversation(`a question ${i}`, { text: 'The courier only.' });
      }
      for (const limit of [1, 2, 3]) {
        const found = (await all({ text: 'courier parcel' }, limit)).map((c) => c.id);
        expect(found).toEqual([...matching].reverse());
      }
      expect((await all({ text: 'courier parcel', ids: [...matching, onlyParcel, onlyCourier] }, 2)).map((c) => c.id)).toEqual([...matching].reverse());
    });

    it('treats search syntax and markup as plain words', async () => {
      const id = await conversation('<img src=x onerror=alert(1)> "quoted" NEAR(a b) AND OR NOT *star* col:umn');
      for (const text of ['"quoted"', 'NEAR(a', 'img onerror', '*star*', 'col:umn', 'AND OR NOT', '"', '*', '^-+']) {
        const found = await all({ text });
        // Nothing to search for (only syntax) lists everything; otherwise it must find the one.
        expect(found.map((c) => c.id)).toEqual([id]);
      }
    });

    it('combines a search with filters and pages through many matches', async () => {
      const matching: string[] = [];
      for (let i = 0; i < 9; i++) {
        const id = await conversation(`shipping question ${i}`, i % 2 === 0 ? { rating: 'down' } : {});
        if (i % 2 === 0) matching.push(id);
        await conversation(`other topic ${i}`, { rating: 'down' });
      }
      const found = await all({ text: 'shipping', rating: 'down' }, 2);
      expect(found.map((c) => c.id)).toEqual(matching.reverse());
      expect(found[0]).toMatchObject({ firstQuestion: 'shipping question 8', down: 1 });
      expect(await all({ text: 'shipping', from: START + 100 * DAY })).toEqual([]);
    });

    it('forgets deleted and expired conversations in the listing, the search and the figures', async () => {
      const gone = await conversation('delete me please', { rating: 'down' });
      const kept = await conversation('keep me please');
      expect(await store.deleteConversation(gone)).toBe(true);
      expect((await all({})).map((c) => c.id)).toEqual([kept]);
      expect((await all({ text: 'please' })).map((c) => c.id)).toEqual([kept]);
      expect(await all({ rating: 'down' })).toEqual([]);
      expect(await store.getTranscript(gone)).toBeUndefined();

      now += 40 * DAY;
      expect(await store.deleteIdleSince(now - 30 * DAY)).toBe(1);
      expect(await all({})).toEqual([]);
      expect(await all({ text: 'please' })).toEqual([]);
      const figures = await store.dailyFigures(START - (START % DAY), START - (START % DAY) + DAY);
      expect(figures[0]).toMatchObject({ conversations: 0, messages: 0, down: 0 });
    });

    it('gives a transcript with every message, its rating and what each reply came to', async () => {
      const id = await store.createConversation();
      const question = await store.appendMessage(id, { role: 'user', content: '<script>alert(1)</script>', status: 'complete', page: 'https://x.example/p' });
      now += 1_000;
      const reply = await store.appendMessage(id, { role: 'assistant', content: '', status: 'incomplete' });
      const replyMeta = meta({ finishReason: 'length', upstreamModel: 'gpt-fallback', errorCode: undefined });
      delete replyMeta.errorCode;
      await store.updateMessage(id, reply!.id, { content: '**Hi**', status: 'complete', meta: replyMeta });
      await store.setFeedback(id, reply!.id, 'up');
      const running = await store.appendMessage(id, { role: 'assistant', content: 'still going', status: 'incomplete' });

      const transcript = await store.getTranscript(id);
      expect(transcript).toEqual({
        id,
        createdAt: new Date(START).toISOString(),
        updatedAt: expect.any(String),
        page: 'https://x.example/p',
        messages: [
          { ...question },
          { ...reply, content: '**Hi**', status: 'complete', rating: 'up', reply: replyMeta },
          { ...running },
        ],
      });
      for (const bad of [UNKNOWN_ID, '', '../x', 'a'.repeat(1000)]) expect(await store.getTranscript(bad)).toBeUndefined();
    });

    it('counts each UTC day: conversations, messages, ratings, failed replies and tokens', async () => {
      const dayStart = START - (START % DAY);
      await conversation('one', { rating: 'up' });
      await conversation('two', { rating: 'down', meta: { finishReason: 'error', inputTokens: 100, outputTokens: 0 } });
      now = dayStart + 2 * DAY + MINUTE;
      await conversation('three', { rating: 'down' });
      const figures = await store.dailyFigures(dayStart - DAY, dayStart + 3 * DAY);
      expect(figures.map((f) => f.day)).toEqual(['2030-01-06', '2030-01-07', '2030-01-08', '2030-01-09']);
      expect(figures[0]).toEqual({ day: '2030-01-06', conversations: 0, messages: 0, up: 0, down: 0, failed: 0, uncovered: 0, tokens: 0 });
      expect(figures[1]).toEqual({ day: '2030-01-07', conversations: 2, messages: 4, up: 1, down: 1, failed: 1, uncovered: 0, tokens: 42 + 100 });
      expect(figures[2]).toMatchObject({ conversations: 0, messages: 0 });
      expect(figures[3]).toMatchObject({ conversations: 1, messages: 2, up: 0, down: 1, failed: 0, tokens: 42 });
    });

    it('keeps an inbox session until it expires, replaces it when written again, and deletes it', async () => {
      const hash = 'a'.repeat(64);
      const session = { user: 'alice', credential: 'c1', createdAt: now, lastSeenAt: now, expiresAt: now + 10 * MINUTE };
      expect(await store.getSession(hash)).toBeUndefined();
      await store.putSession(hash, session);
      expect(await store.getSession(hash)).toEqual(session);
      expect(await store.getSession('b'.repeat(64))).toBeUndefined();
      now += 9 * MINUTE;
      const touched = { ...session, lastSeenAt: now, expiresAt: now + 10 * MINUTE };
      await store.putSession(hash, touched);
      now += 9 * MINUTE;
      expect(await store.getSession(hash)).toEqual(touched);
      now += 2 * MINUTE;
      expect(await store.getSession(hash)).toBeUndefined();

      await store.putSession(hash, { ...touched, expiresAt: now + MINUTE });
      await store.deleteSession(hash);
      expect(await store.getSession(hash)).toBeUndefined();
      await store.deleteSession(hash);
    });

    it('still has an inbox session after it is closed and opened again', async (ctx) => {
      if (!opened.reopen) return ctx.skip();
      const session = { user: 'bob', credential: 'c2', createdAt: now, lastSeenAt: now, expiresAt: now + 60 * MINUTE };
      await store.putSession('c'.repeat(64), session);
      await store.close();
      store = await opened.reopen();
      expect(await store.getSession('c'.repeat(64))).toEqual(session);
    });
  });
}
