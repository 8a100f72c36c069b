import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationStore, NewMessage } from './conversation-store.js';
import { inboxStoreSuite } from './inbox-store.suite.js';

/** What a backend's test hands the suite for each test. */
export interface OpenedStore {
  store: ConversationStore;
  /**
   * Opens a second store on the same data, as a restarted server would. The suite closes `store`
   * first and closes the reopened one itself. Omit it for a backend without persistence.
   */
  reopen?: () => Promise<ConversationStore>;
  /** Removes whatever the test left behind (files, keys). Runs after the stores are closed. */
  cleanup: () => Promise<void>;
}

/** The suite drives retention with its own clock; a backend passes `now` to its store. */
export interface SuiteClock {
  now: () => number;
}

const START = Date.UTC(2030, 0, 1);
const DAY = 24 * 60 * 60 * 1000;
const ID_SHAPE = /^[A-Za-z0-9_-]{22,}$/;
const MALFORMED_IDS = ['', 'abc', '../../etc/passwd', "x' OR '1'='1", '*', 'a'.repeat(10_000), 'conv:*', ' '.repeat(24)];
// Well-formed for every backend that mints 24 base64url characters, yet never minted.
const UNKNOWN_ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';

const user = (content: string): NewMessage => ({ role: 'user', content, status: 'complete' });
const streaming = (): NewMessage => ({ role: 'assistant', content: '', status: 'incomplete' });

/**
 * The one test suite every `ConversationStore` backend runs through (issue 3, issue 6).
 * `open` gets the suite's clock and answers a fresh, empty store for each test.
 */
export function conversationStoreSuite(name: string, open: (clock: SuiteClock) => Promise<OpenedStore>): void {
  describe(`ConversationStore: ${name}`, () => {
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

    it('creates an empty conversation with an unguessable id', async () => {
      const id = await store.createConversation();
      expect(id).toMatch(ID_SHAPE);
      expect(await store.getConversation(id)).toEqual({ id, messages: [] });
    });

    it('appends messages and reads them back in order, with their time and status', async () => {
      const id = await store.createConversation();
      const question = await store.appendMessage(id, user('Where is my order? 📦'));
      now += 1_000;
      const answer = await store.appendMessage(id, { role: 'assistant', content: 'It ships today.', status: 'complete' });
      expect(question).toEqual({
        id: expect.stringMatching(ID_SHAPE),
        role: 'user',
        content: 'Where is my order? 📦',
        status: 'complete',
        createdAt: new Date(START).toISOString(),
      });
      expect(answer?.createdAt).toBe(new Date(START + 1_000).toISOString());
      expect(question?.id).not.toBe(answer?.id);
      expect(await store.getConversation(id)).toEqual({ id, messages: [question, answer] });
    });

    it('keeps text exactly as given: empty, multibyte, and large', async () => {
      const id = await store.createConversation();
      const texts = ['', 'ünïcödé — 日本語 — 👩‍👩‍👧', 'line\r\nbreaks\n\nand "quotes" \\ and \u0000 nul', 'x'.repeat(200_000)];
      for (const content of texts) await store.appendMessage(id, { role: 'assistant', content, status: 'complete' });
      const conversation = await store.getConversation(id);
      expect(conversation?.messages.map((m) => m.content)).toEqual(texts);
    });

    it('keeps every concurrent append, in the order of the calls', async () => {
      const id = await store.createConversation();
      const other = await store.createConversation();
      const appends = Array.from({ length: 100 }, (_, n) =>
        store.appendMessage(n % 2 === 0 ? id : other, user(`message ${n}`)),
      );
      const appended = await Promise.all(appends);
      expect(appended.every((m) => m !== undefined)).toBe(true);
      const mine = await store.getConversation(id);
      const theirs = await store.getConversation(other);
      expect(mine?.messages.map((m) => m.content)).toEqual(
        Array.from({ length: 50 }, (_, n) => `message ${2 * n}`),
      );
      expect(theirs?.messages.map((m) => m.content)).toEqual(
        Array.from({ length: 50 }, (_, n) => `message ${2 * n + 1}`),
      );
      expect(new Set(appended.map((m) => m?.id)).size).toBe(100);
    });

    it('updates a streaming reply in place until it is complete', async () => {
      const id = await store.createConversation();
      const question = await store.appendMessage(id, user('Tell me a story'));
      const reply = await store.appendMessage(id, streaming());
      if (!question || !reply) throw new Error('append failed');
      let text = '';
      for (const delta of ['Once', ' upon', ' a', ' time.']) {
        text += delta;
        now += 10;
        expect(await store.updateMessage(id, reply.id, { content: text, status: 'incomplete' })).toBe(true);
        const during = await store.getConversation(id);
        expect(during?.messages[1]).toEqual({ ...reply, content: text, status: 'incomplete' });
      }
      expect(await store.updateMessage(id, reply.id, { content: text, status: 'complete' })).toBe(true);
      const after = await store.getConversation(id);
      // Same place, same id, same creation time: only the text and status changed.
      expect(after?.messages).toEqual([question, { ...reply, content: 'Once upon a time.', status: 'complete' }]);
    });

    it('deletes one message with its rating, keeping the others in order, and only through its own conversation', async () => {
      const id = await store.createConversation();
      const other = await store.createConversation();
      const question = await store.appendMessage(id, user('Why?'));
      const failed = await store.appendMessage(id, streaming());
      if (!question || !failed) throw new Error('append failed');
      expect(await store.setFeedback(id, failed.id, 'down')).toBe(true);
      expect(await store.deleteMessage(other, failed.id)).toBe(false);
      expect(await store.deleteMessage(id, 'not-an-id')).toBe(false);
      expect(await store.deleteMessage(id, failed.id)).toBe(true);
      expect(await store.deleteMessage(id, failed.id)).toBe(false);
      expect(await store.getFeedback(id, failed.id)).toBeUndefined();
      const retried = await store.appendMessage(id, streaming());
      expect((await store.getConversation(id))?.messages).toEqual([question, retried]);
    });

    it('refuses to update a message through the wrong, unknown or malformed ids', async () => {
      const id = await store.createConversation();
      const other = await store.createConversation();
      const reply = await store.appendMessage(id, streaming());
      if (!reply) throw new Error('append failed');
      const patch = { content: 'hijacked', status: 'complete' } as const;
      expect(await store.updateMessage(other, reply.id, patch)).toBe(false);
      expect(await store.updateMessage(id, UNKNOWN_ID, patch)).toBe(false);
      expect(await store.updateMessage(UNKNOWN_ID, reply.id, patch)).toBe(false);
      for (const bad of MALFORMED_IDS) {
        expect(await store.updateMessage(bad, reply.id, patch)).toBe(false);
        expect(await store.updateMessage(id, bad, patch)).toBe(false);
      }
      expect((await store.getConversation(id))?.messages).toEqual([reply]);
      expect((await store.getConversation(other))?.messages).toEqual([]);
    });

    it('answers undefined or false for unknown and malformed ids, and creates nothing', async () => {
      for (const bad of [UNKNOWN_ID, ...MALFORMED_IDS]) {
        expect(await store.getConversation(bad)).toBeUndefined();
        expect(await store.appendMessage(bad, user('hello'))).toBeUndefined();
        expect(await store.getConversation(bad)).toBeUndefined();
        expect(await store.deleteConversation(bad)).toBe(false);
        expect(await store.setFeedback(bad, UNKNOWN_ID, 'up')).toBe(false);
        expect(await store.getFeedback(bad, UNKNOWN_ID)).toBeUndefined();
      }
    });

    it('keeps one rating per assistant message, the last one given', async () => {
      const id = await store.createConversation();
      const question = await store.appendMessage(id, user('Is it free?'));
      const answer = await store.appendMessage(id, { role: 'assistant', content: 'Yes.', status: 'complete' });
      const second = await store.appendMessage(id, { role: 'assistant', content: 'Really.', status: 'incomplete' });
      if (!question || !answer || !second) throw new Error('append failed');
      expect(await store.getFeedback(id, answer.id)).toBeUndefined();
      expect(await store.setFeedback(id, answer.id, 'up')).toBe(true);
      expect(await store.getFeedback(id, answer.id)).toBe('up');
      expect(await store.setFeedback(id, answer.id, 'down')).toBe(true);
      expect(await store.getFeedback(id, answer.id)).toBe('down');
      // An incomplete reply can be rated too; ratings are per message.
      expect(await store.setFeedback(id, second.id, 'up')).toBe(true);
      expect(await store.getFeedback(id, second.id)).toBe('up');
      expect(await store.getFeedback(id, answer.id)).toBe('down');
    });

    it('refuses feedback on a visitor message, or through another conversation', async () => {
      const id = await store.createConversation();
      const other = await store.createConversation();
      const question = await store.appendMessage(id, user('Hi'));
      const answer = await store.appendMessage(id, { role: 'assistant', content: 'Hello!', status: 'complete' });
      if (!question || !answer) throw new Error('append failed');
      expect(await store.setFeedback(id, question.id, 'up')).toBe(false);
      expect(await store.getFeedback(id, question.id)).toBeUndefined();
      expect(await store.setFeedback(other, answer.id, 'down')).toBe(false);
      expect(await store.getFeedback(other, answer.id)).toBeUndefined();
      expect(await store.setFeedback(id, UNKNOWN_ID, 'up')).toBe(false);
      for (const bad of MALFORMED_IDS) expect(await store.setFeedback(id, bad, 'up')).toBe(false);
      expect(await store.getFeedback(id, answer.id)).toBeUndefined();
    });

    it('deletes a conversation with its messages and ratings, and only that one', async () => {
      const id = await store.createConversation();
      const kept = await store.createConversation();
      await store.appendMessage(id, user('Forget me'));
      const answer = await store.appendMessage(id, { role: 'assistant', content: 'Done.', status: 'complete' });
      const keptMessage = await store.appendMessage(kept, user('Keep me'));
      if (!answer) throw new Error('append failed');
      await store.setFeedback(id, answer.id, 'up');

      expect(await store.deleteConversation(id)).toBe(true);
      expect(await store.getConversation(id)).toBeUndefined();
      expect(await store.getFeedback(id, answer.id)).toBeUndefined();
      expect(await store.updateMessage(id, answer.id, { content: 'back?', status: 'complete' })).toBe(false);
      expect(await store.setFeedback(id, answer.id, 'down')).toBe(false);
      expect(await store.appendMessage(id, user('anyone?'))).toBeUndefined();
      expect(await store.getConversation(id)).toBeUndefined();
      expect(await store.deleteConversation(id)).toBe(false);
      expect(await store.getConversation(kept)).toEqual({ id: kept, messages: [keptMessage] });
    });

    it('sweeps conversations idle since the cutoff; any activity keeps one alive', async () => {
      const idle = await store.createConversation();
      const appended = await store.createConversation();
      const updated = await store.createConversation();
      const rated = await store.createConversation();
      const reply = await store.appendMessage(updated, streaming());
      const answer = await store.appendMessage(rated, { role: 'assistant', content: 'ok', status: 'complete' });
      if (!reply || !answer) throw new Error('append failed');

      now = START + 20 * DAY;
      await store.appendMessage(appended, user('still here'));
      expect(await store.updateMessage(updated, reply.id, { content: 'more', status: 'incomplete' })).toBe(true);
      expect(await store.setFeedback(rated, answer.id, 'up')).toBe(true);
      now = START + 25 * DAY;
      const fresh = await store.createConversation();

      // Idle strictly before the cutoff goes; activity at or after it stays.
      expect(await store.deleteIdleSince(START + 20 * DAY)).toBe(1);
      expect(await store.getConversation(idle)).toBeUndefined();
      for (const id of [appended, updated, rated, fresh]) expect(await store.getConversation(id)).toBeDefined();
      expect(await store.getFeedback(rated, answer.id)).toBe('up');

      expect(await store.deleteIdleSince(START + 20 * DAY)).toBe(0);
      expect(await store.deleteIdleSince(START + 30 * DAY)).toBe(4);
      for (const id of [appended, updated, rated, fresh]) expect(await store.getConversation(id)).toBeUndefined();
    });

    it('still has every conversation after it is closed and opened again', async (ctx) => {
      if (!opened.reopen) return ctx.skip();
      const id = await store.createConversation();
      await store.appendMessage(id, user('Remember me'));
      const reply = await store.appendMessage(id, streaming());
      if (!reply) throw new Error('append failed');
      await store.updateMessage(id, reply.id, { content: 'Cut off mid', status: 'incomplete' });
      await store.setFeedback(id, reply.id, 'down');
      const before = await store.getConversation(id);
      await store.close();

      const reopened = await opened.reopen();
      store = reopened; // closed by afterEach
      expect(await reopened.getConversation(id)).toEqual(before);
      expect(await reopened.getFeedback(id, reply.id)).toBe('down');
      // And it keeps working: ordering continues after the existing messages.
      const more = await reopened.appendMessage(id, user('Still there?'));
      expect((await reopened.getConversation(id))?.messages.at(-1)).toEqual(more);
      expect((await reopened.getConversation(id))?.messages).toHaveLength(3);
    });

    it('starts a turn in one step: a new conversation with the question and the empty reply', async () => {
      const turn = await store.appendTurn({ question: { ...user('Hello?'), tokens: 2 }, reply: { ...streaming(), sources: [] } });
      if (!turn?.question) throw new Error('no turn');
      expect(turn.conversationId).toMatch(ID_SHAPE);
      expect(turn.question).toEqual({ id: expect.stringMatching(ID_SHAPE), role: 'user', content: 'Hello?', status: 'complete', createdAt: new Date(START).toISOString(), tokens: 2 });
      expect(turn.reply).toEqual({ id: expect.stringMatching(ID_SHAPE), role: 'assistant', content: '', status: 'incomplete', createdAt: new Date(START).toISOString(), sources: [] });
      expect(await store.getConversation(turn.conversationId)).toEqual({ id: turn.conversationId, messages: [turn.question, turn.reply] });
    });

    it('starts a turn in an existing conversation after its messages, and counts it as activity', async () => {
      const id = await store.createConversation();
      const first = await store.appendMessage(id, user('One'));
      now = START + 20 * DAY;
      const turn = await store.appendTurn({ conversationId: id, question: user('Two'), reply: streaming() });
      expect(turn?.conversationId).toBe(id);
      expect((await store.getConversation(id))?.messages).toEqual([first, turn?.question, turn?.reply]);
      expect(await store.deleteIdleSince(START + 20 * DAY)).toBe(0);
    });

    it('starts a Retry in one step: the failed reply and its rating deleted, the stored question kept, a new reply after it', async () => {
      const id = await store.createConversation();
      const question = await store.appendMessage(id, user('Why?'));
      const failed = await store.appendMessage(id, { role: 'assistant', content: 'Becau', status: 'incomplete' });
      if (!question || !failed) throw new Error('append failed');
      await store.setFeedback(id, failed.id, 'down');
      const turn = await store.appendTurn({ conversationId: id, replaces: failed.id, reply: streaming() });
      expect(turn?.question).toBeUndefined();
      expect((await store.getConversation(id))?.messages).toEqual([question, turn?.reply]);
      expect(await store.getFeedback(id, failed.id)).toBeUndefined();
      // A reply to replace that is already gone (or never was) is no obstacle.
      const again = await store.appendTurn({ conversationId: id, replaces: failed.id, reply: streaming() });
      expect((await store.getConversation(id))?.messages).toEqual([question, turn?.reply, again?.reply]);
    });

    it('writes nothing for a turn in an unknown or malformed conversation', async () => {
      for (const bad of [UNKNOWN_ID, ...MALFORMED_IDS]) {
        expect(await store.appendTurn({ conversationId: bad, question: user('hello'), reply: streaming() })).toBeUndefined();
        expect(await store.getConversation(bad)).toBeUndefined();
      }
      // Nor can a turn reach into another conversation to delete its message.
      const id = await store.createConversation();
      const other = await store.createConversation();
      const kept = await store.appendMessage(other, streaming());
      await store.appendTurn({ conversationId: id, replaces: kept?.id, reply: streaming() });
      expect((await store.getConversation(other))?.messages).toEqual([kept]);
    });

    it('keeps the counts a turn hands over for complete messages without one, and no other', async () => {
      const id = await store.createConversation();
      const other = await store.createConversation();
      const counted = await store.appendMessage(id, { ...user('Hi'), tokens: 1 });
      const done = await store.appendMessage(id, { role: 'assistant', content: 'Hello there.', status: 'complete' });
      const cut = await store.appendMessage(id, { role: 'assistant', content: 'Hel', status: 'incomplete' });
      const elsewhere = await store.appendMessage(other, { role: 'assistant', content: 'Not yours.', status: 'complete' });
      if (!counted || !done || !cut || !elsewhere) throw new Error('append failed');
      await store.appendTurn({
        conversationId: id,
        question: user('Next'),
        reply: streaming(),
        counts: [
          { messageId: counted.id, tokens: 99 },
          { messageId: done.id, tokens: 3 },
          { messageId: cut.id, tokens: 1 },
          { messageId: elsewhere.id, tokens: 3 },
          { messageId: UNKNOWN_ID, tokens: 3 },
        ],
      });
      const messages = (await store.getConversation(id))?.messages ?? [];
      expect(messages.slice(0, 3).map((m) => m.tokens)).toEqual([1, 3, undefined]);
      expect((await store.getConversation(other))?.messages[0]).not.toHaveProperty('tokens');
    });

    it('keeps a message\'s token count with it, and drops it when an update does not give one', async () => {
      const id = await store.createConversation();
      const reply = await store.appendMessage(id, { ...streaming(), tokens: 0 });
      if (!reply) throw new Error('append failed');
      expect((await store.getConversation(id))?.messages[0]?.tokens).toBe(0);
      // Mid-stream the count is not known: none is better than a stale one.
      expect(await store.updateMessage(id, reply.id, { content: 'Once upon', status: 'incomplete' })).toBe(true);
      expect((await store.getConversation(id))?.messages[0]).not.toHaveProperty('tokens');
      expect(await store.updateMessage(id, reply.id, { content: 'Once upon a time.', status: 'complete', tokens: 5 })).toBe(true);
      expect((await store.getConversation(id))?.messages[0]).toMatchObject({ content: 'Once upon a time.', tokens: 5 });
    });

    it('never hands out the same id twice in 10,000 conversations', async () => {
      const ids = new Set<string>();
      for (let batch = 0; batch < 20; batch++) {
        const created = await Promise.all(Array.from({ length: 500 }, () => store.createConversation()));
        for (const id of created) {
          expect(id).toMatch(ID_SHAPE);
          ids.add(id);
        }
      }
      expect(ids.size).toBe(10_000);
    });
  });

  inboxStoreSuite(name, open);
}
