import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AddRules, HandoffConversation, HandoffOutbox, NewHandoff } from './handoff-outbox.js';

/** What a backend's test hands the suite for each test. */
export interface OpenedOutbox {
  outbox: HandoffOutbox;
  /** Another outbox on the same data, as a second instance (or a restarted one) would have. */
  another: () => Promise<HandoffOutbox>;
  /** Removes whatever the test left behind. Runs after the outboxes are closed. */
  cleanup: () => Promise<void>;
}

const START = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const LEASE = 2 * MINUTE;

const handoff = (over: Partial<NewHandoff> = {}): NewHandoff => ({
  conversationId: 'conversation-a',
  conversationCreatedAt: START - HOUR,
  email: 'visitor@example.com',
  note: 'Please call me back <b>soon</b>',
  page: 'https://help.example.com/billing',
  transcript: [
    { role: 'user', content: 'How do I get a refund?', createdAt: '2030-01-01T00:00:00.000Z' },
    { role: 'assistant', content: 'I could not find that in our help pages.', createdAt: '2030-01-01T00:00:01.000Z' },
  ],
  channels: ['webhook', 'email'],
  ...over,
});

/** The ids of every conversation with a hand-off, in the outbox's order. */
const conversations = async (outbox: HandoffOutbox): Promise<string[]> => (await outbox.conversationsWithHandoffs({ limit: 1_000 })).map((c) => c.id);

const rules = (now: number, over: Partial<AddRules> = {}): AddRules => ({
  now,
  duplicateWindowMs: 10 * MINUTE,
  perConversation: 3,
  windowMs: HOUR,
  ...over,
});

/**
 * The one suite every `HandoffOutbox` backend runs through: storing with its checks, leases that
 * keep one delivery to one instance at a time, settling only under one's own lease, the inbox's
 * view, and retention. The suite's clock is passed to every call; no test sleeps.
 */
export function handoffOutboxSuite(name: string, open: () => Promise<OpenedOutbox>): void {
  describe(`HandoffOutbox: ${name}`, () => {
    let opened: OpenedOutbox;
    let outbox: HandoffOutbox;
    const extra: HandoffOutbox[] = [];

    beforeEach(async () => {
      opened = await open();
      outbox = opened.outbox;
    });
    afterEach(async () => {
      for (const other of extra.splice(0)) await other.close();
      await outbox.close();
      await opened.cleanup();
    });

    it('stores a hand-off with one pending delivery per channel, due at once, transcript whole and in order', async () => {
      const long = 'x'.repeat(100_000) + ' é 日本 🎉';
      const stored = await outbox.add(handoff({ transcript: [...handoff().transcript, { role: 'user', content: long, createdAt: '2030-01-01T00:00:02.000Z' }] }), rules(START));
      expect(stored.outcome).toBe('stored');
      const id = (stored as { id: string }).id;

      const view = await outbox.handoffsFor(['conversation-a', 'nobody']);
      expect([...view.keys()]).toEqual(['conversation-a']);
      expect(view.get('conversation-a')).toEqual([
        {
          id,
          conversationId: 'conversation-a',
          email: 'visitor@example.com',
          note: 'Please call me back <b>soon</b>',
          page: 'https://help.example.com/billing',
          createdAt: new Date(START).toISOString(),
          deliveries: [
            { channel: 'webhook', state: 'pending', attempts: 0, lastError: null, nextAttemptAt: new Date(START).toISOString(), updatedAt: new Date(START).toISOString() },
            { channel: 'email', state: 'pending', attempts: 0, lastError: null, nextAttemptAt: new Date(START).toISOString(), updatedAt: new Date(START).toISOString() },
          ],
        },
      ]);

      const [claim] = await outbox.claim('webhook', START, LEASE, 10);
      expect(claim?.attempt).toBe(1);
      expect(claim?.handoff).toEqual({
        id,
        conversationId: 'conversation-a',
        email: 'visitor@example.com',
        note: 'Please call me back <b>soon</b>',
        page: 'https://help.example.com/billing',
        createdAt: new Date(START).toISOString(),
        transcript: [...handoff().transcript, { role: 'user', content: long, createdAt: '2030-01-01T00:00:02.000Z' }],
      });
    });

    it('keeps a missing note and page as null', async () => {
      await outbox.add(handoff({ note: null, page: null, channels: ['email'] }), rules(START));
      const [claim] = await outbox.claim('email', START, LEASE, 10);
      expect(claim?.handoff).toMatchObject({ note: null, page: null });
      expect(await outbox.claim('webhook', START, LEASE, 10)).toEqual([]);
    });

    it('answers an identical hand-off within the window with the first one, and stores a changed one', async () => {
      const first = await outbox.add(handoff(), rules(START));
      expect(await outbox.add(handoff({ email: 'VISITOR@example.com' }), rules(START + MINUTE))).toEqual({ outcome: 'duplicate', id: (first as { id: string }).id });
      const changed = await outbox.add(handoff({ note: 'Another thought' }), rules(START + 2 * MINUTE));
      expect(changed.outcome).toBe('stored');
      // Past the window the same words are a new hand-off (the visitor asked again much later).
      expect((await outbox.add(handoff(), rules(START + 11 * MINUTE))).outcome).toBe('stored');
      expect((await outbox.handoffsFor(['conversation-a'])).get('conversation-a')).toHaveLength(3);
    });

    it('limits new hand-offs per conversation within the window, and says when the next is allowed', async () => {
      for (let i = 0; i < 3; i++) expect((await outbox.add(handoff({ note: `n${i}` }), rules(START + i * MINUTE))).outcome).toBe('stored');
      expect(await outbox.add(handoff({ note: 'n3' }), rules(START + 10 * MINUTE))).toEqual({ outcome: 'limited', retryAfterMs: 50 * MINUTE });
      // Another conversation is not affected.
      expect((await outbox.add(handoff({ conversationId: 'conversation-b' }), rules(START + 10 * MINUTE))).outcome).toBe('stored');
      expect((await outbox.add(handoff({ note: 'n3' }), rules(START + HOUR))).outcome).toBe('stored');
    });

    it('leases a due delivery to one claimer; it is due again when the lease ends, as attempt 2', async () => {
      await outbox.add(handoff(), rules(START));
      const second = await opened.another();
      extra.push(second);
      const [mine] = await outbox.claim('webhook', START, LEASE, 10);
      expect(mine).toBeDefined();
      expect(await second.claim('webhook', START + 1, LEASE, 10)).toEqual([]);
      expect(await outbox.claim('webhook', START + LEASE - 1, LEASE, 10)).toEqual([]);
      // The holder died: the lease runs out and another instance takes it.
      const [theirs] = await second.claim('webhook', START + LEASE, LEASE, 10);
      expect(theirs?.attempt).toBe(2);
      // The old holder's late word counts for nothing; the new holder's does.
      expect(await outbox.complete(mine!, START + LEASE + 1)).toBe(false);
      expect(await second.complete(theirs!, START + LEASE + 2)).toBe(true);
      const deliveries = (await outbox.handoffsFor(['conversation-a'])).get('conversation-a')![0]!.deliveries;
      expect(deliveries[0]).toMatchObject({ channel: 'webhook', state: 'delivered', attempts: 2, nextAttemptAt: null });
      expect(deliveries[1]).toMatchObject({ channel: 'email', state: 'pending', attempts: 0 });
    });

    it('gives each delivery to exactly one of many concurrent claimers across instances', async () => {
      for (let i = 0; i < 20; i++) await outbox.add(handoff({ conversationId: `c${i}` }), rules(START + i));
      const others = await Promise.all([opened.another(), opened.another()]);
      extra.push(...others);
      const all = [outbox, ...others];
      const rounds = await Promise.all(Array.from({ length: 12 }, (_, i) => all[i % all.length]!.claim('webhook', START + HOUR, LEASE, 3)));
      const ids = rounds.flat().map((c) => c.handoff.id);
      expect(new Set(ids).size).toBe(ids.length);
      // 12 rounds of up to 3 could take 36; there are 20, each taken once.
      const rest = await outbox.claim('webhook', START + HOUR, LEASE, 100);
      expect(ids.length + rest.length).toBe(20);
    });

    it('retries at the given time with the reason kept, and fails for good', async () => {
      await outbox.add(handoff(), rules(START));
      const [first] = await outbox.claim('email', START, LEASE, 10);
      expect(await outbox.retry(first!, START + 30_000, 'SMTP 451: try later', START + 5)).toBe(true);
      expect(await outbox.claim('email', START + 29_999, LEASE, 10)).toEqual([]);
      let [summary] = (await outbox.handoffsFor(['conversation-a'])).get('conversation-a')!;
      expect(summary!.deliveries[1]).toMatchObject({ state: 'pending', attempts: 1, lastError: 'SMTP 451: try later', nextAttemptAt: new Date(START + 30_000).toISOString() });

      const [second] = await outbox.claim('email', START + 30_000, LEASE, 10);
      expect(second?.attempt).toBe(2);
      expect(await outbox.fail(second!, 'gave up after 24 h: SMTP 550', START + 30_001)).toBe(true);
      expect(await outbox.claim('email', START + 10 * HOUR, LEASE, 10)).toEqual([]);
      [summary] = (await outbox.handoffsFor(['conversation-a'])).get('conversation-a')!;
      expect(summary!.deliveries[1]).toMatchObject({
        state: 'failed',
        attempts: 2,
        lastError: 'gave up after 24 h: SMTP 550',
        nextAttemptAt: null,
        updatedAt: new Date(START + 30_001).toISOString(),
      });
    });

    it('takes back a delivery released at shutdown at once, without counting the attempt', async () => {
      await outbox.add(handoff({ channels: ['webhook'] }), rules(START));
      const [claim] = await outbox.claim('webhook', START, LEASE, 10);
      expect(await outbox.release(claim!, START + 10)).toBe(true);
      const [again] = await outbox.claim('webhook', START + 10, LEASE, 10);
      expect(again?.attempt).toBe(1);
    });

    it('knows the earliest due time of pending deliveries', async () => {
      expect(await outbox.nextDue(['webhook', 'email'])).toBeUndefined();
      await outbox.add(handoff({ channels: ['webhook'] }), rules(START));
      const [claim] = await outbox.claim('webhook', START, LEASE, 10);
      // Leased: due again when the lease ends.
      expect(await outbox.nextDue(['webhook'])).toBe(START + LEASE);
      await outbox.retry(claim!, START + 40_000, 'HTTP 500', START + 1);
      expect(await outbox.nextDue(['webhook', 'email'])).toBe(START + 40_000);
      expect(await outbox.nextDue(['email'])).toBeUndefined();
      const [next] = await outbox.claim('webhook', START + 40_000, LEASE, 10);
      await outbox.complete(next!, START + 40_001);
      expect(await outbox.nextDue(['webhook', 'email'])).toBeUndefined();
    });

    it('lists hand-offs per conversation, oldest first, for the inbox', async () => {
      await outbox.add(handoff({ conversationId: 'a', note: '1' }), rules(START));
      await outbox.add(handoff({ conversationId: 'b', note: '2', channels: ['email'] }), rules(START + 1));
      await outbox.add(handoff({ conversationId: 'a', note: '3' }), rules(START + 2));
      const view = await outbox.handoffsFor(['a', 'b', 'a', 'c']);
      expect([...view.keys()].sort()).toEqual(['a', 'b']);
      expect(view.get('a')!.map((h) => h.note)).toEqual(['1', '3']);
      expect(view.get('b')![0]!.deliveries.map((d) => d.channel)).toEqual(['email']);
    });

    it('lists recent hand-offs newest first, a page at a time', async () => {
      for (let i = 0; i < 5; i++) await outbox.add(handoff({ conversationId: `c${i}` }), rules(START + i * MINUTE));
      const first = await outbox.recentHandoffs(2);
      expect(first.map((h) => h.conversationId)).toEqual(['c4', 'c3']);
      expect(first[0]!.deliveries.map((d) => d.state)).toEqual(['pending', 'pending']);
      const next = await outbox.recentHandoffs(10, Date.parse(first.at(-1)!.createdAt));
      expect(next.map((h) => h.conversationId)).toEqual(['c2', 'c1', 'c0']);
      expect(await outbox.recentHandoffs(10, START)).toEqual([]);
    });

    it('deletes hand-offs created before the cutoff, with their deliveries', async () => {
      await outbox.add(handoff({ conversationId: 'old' }), rules(START));
      await outbox.add(handoff({ conversationId: 'new' }), rules(START + HOUR));
      expect(await outbox.deleteCreatedBefore(START + HOUR)).toBe(1);
      expect([...(await outbox.handoffsFor(['old', 'new'])).keys()]).toEqual(['new']);
      expect(await conversations(outbox)).toEqual(['new']);
      const due = await outbox.claim('webhook', START + 2 * HOUR, LEASE, 10);
      expect(due.map((c) => c.handoff.conversationId)).toEqual(['new']);
      // The old one's duplicate record went with it.
      expect((await outbox.add(handoff({ conversationId: 'old' }), rules(START + HOUR + 1, { duplicateWindowMs: 2 * HOUR }))).outcome).toBe('stored');
    });

    it('walks the conversations that have a hand-off newest conversation first, each once, a page at a time', async () => {
      expect(await outbox.conversationsWithHandoffs({ limit: 10 })).toEqual([]);
      // By when each conversation started, not when it was handed off; c and d started in the same millisecond.
      await outbox.add(handoff({ conversationId: 'a', conversationCreatedAt: START - 3 * HOUR, note: '1' }), rules(START));
      await outbox.add(handoff({ conversationId: 'b', conversationCreatedAt: START - HOUR }), rules(START + 1));
      await outbox.add(handoff({ conversationId: 'c', conversationCreatedAt: START - 2 * HOUR }), rules(START + 2));
      await outbox.add(handoff({ conversationId: 'd', conversationCreatedAt: START - 2 * HOUR }), rules(START + 3));
      await outbox.add(handoff({ conversationId: 'a', conversationCreatedAt: START - 3 * HOUR, note: '2' }), rules(START + 4));
      const all = await outbox.conversationsWithHandoffs({ limit: 10 });
      expect(all).toEqual([
        { id: 'b', createdAt: START - HOUR },
        { id: 'd', createdAt: START - 2 * HOUR },
        { id: 'c', createdAt: START - 2 * HOUR },
        { id: 'a', createdAt: START - 3 * HOUR },
      ]);
      // One at a time, each page after the last: the same, ties included.
      const walked: HandoffConversation[] = [];
      for (let before: HandoffConversation | undefined; ; ) {
        const page = await outbox.conversationsWithHandoffs({ limit: 1, ...(before === undefined ? {} : { before }) });
        if (page.length === 0) break;
        walked.push(...page);
        before = page.at(-1);
      }
      expect(walked).toEqual(all);
      // Another instance sees the same, from any point.
      const second = await opened.another();
      extra.push(second);
      expect(await second.conversationsWithHandoffs({ limit: 2, before: all[0]! })).toEqual(all.slice(1, 3));
      expect(await second.conversationsWithHandoffs({ limit: 2, before: { id: 'zzz', createdAt: START - 2 * HOUR } })).toEqual(all.slice(1, 3));
      expect(await second.conversationsWithHandoffs({ limit: 2, before: { id: 'c', createdAt: START - 2 * HOUR } })).toEqual(all.slice(3));
    });

    it('deletes every hand-off of one conversation: its deliveries, its repeat record, its place in the index', async () => {
      await outbox.add(handoff({ conversationId: 'a', note: '1' }), rules(START));
      await outbox.add(handoff({ conversationId: 'b' }), rules(START + 1));
      await outbox.add(handoff({ conversationId: 'a', note: '2' }), rules(START + 2));
      expect(await outbox.deleteForConversation('a')).toBe(2);
      expect(await outbox.deleteForConversation('a')).toBe(0);
      expect(await outbox.deleteForConversation('nobody')).toBe(0);
      expect([...(await outbox.handoffsFor(['a', 'b'])).keys()]).toEqual(['b']);
      expect(await conversations(outbox)).toEqual(['b']);
      // Only b's deliveries are left to make.
      expect((await outbox.claim('webhook', START + HOUR, LEASE, 10)).map((c) => c.handoff.conversationId)).toEqual(['b']);
      expect((await outbox.claim('email', START + HOUR, LEASE, 10)).map((c) => c.handoff.conversationId)).toEqual(['b']);
      // The same words again are a new hand-off, not a repeat of a deleted one.
      expect((await outbox.add(handoff({ conversationId: 'a', note: '1' }), rules(START + 3))).outcome).toBe('stored');
      expect(await conversations(outbox)).toHaveLength(2);
    });

    it('cancels a deleted conversation\'s pending deliveries; an attempt running meanwhile cannot settle or bring them back', async () => {
      await outbox.add(handoff({ conversationId: 'a' }), rules(START));
      const [running] = await outbox.claim('webhook', START, LEASE, 10);
      expect(running).toBeDefined();
      expect(await outbox.nextDue(['email'])).toBe(START);
      expect(await outbox.deleteForConversation('a')).toBe(1);
      // Pending (email) and leased (webhook) alike: nothing is due, nothing can be claimed.
      expect(await outbox.nextDue(['webhook', 'email'])).toBeUndefined();
      expect(await outbox.claim('email', START + LEASE, LEASE, 10)).toEqual([]);
      expect(await outbox.claim('webhook', START + LEASE, LEASE, 10)).toEqual([]);
      // The running attempt's word counts for nothing, whatever it is.
      expect(await outbox.retry(running!, START + MINUTE, 'HTTP 500', START + 1)).toBe(false);
      expect(await outbox.fail(running!, 'HTTP 500', START + 1)).toBe(false);
      expect(await outbox.release(running!, START + 1)).toBe(false);
      expect(await outbox.complete(running!, START + 1)).toBe(false);
      expect(await outbox.nextDue(['webhook', 'email'])).toBeUndefined();
      expect(await outbox.handoffsFor(['a'])).toEqual(new Map());
      expect(await conversations(outbox)).toEqual([]);
    });
  });
}
