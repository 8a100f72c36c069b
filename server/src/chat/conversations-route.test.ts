import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';

let upstream: MockUpstream;
let server: TestServer;

beforeAll(async () => {
  upstream = await startMockUpstream();
  server = await startTestServer({ upstream });
});
afterAll(async () => {
  await server.close();
  await upstream.close();
});

async function oneTurn(target: TestServer, message: string, conversationId?: string): Promise<{ conversationId: string; messageId: string }> {
  const { events } = await readEvents(await postChat(target.url, { message, conversationId }));
  const start = events[0]!.event;
  if (start.type !== 'message-start') throw new Error('no message-start');
  return start;
}

describe('GET and DELETE /api/conversations/:id', () => {
  it('returns the conversation in the contract\'s shape', async () => {
    upstream.script({ kind: 'deltas', deltas: ['Two ', 'days.'] });
    const { conversationId, messageId } = await oneTurn(server, 'How long is shipping?');
    const response = await request(server.url).get(`/api/conversations/${conversationId}`);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({
      id: conversationId,
      messages: [
        { id: expect.any(String), role: 'user', content: 'How long is shipping?', createdAt: expect.any(String), status: 'complete' },
        { id: messageId, role: 'assistant', content: 'Two days.', createdAt: expect.any(String), status: 'complete' },
      ],
    });
    expect(Number.isNaN(Date.parse(response.body.messages[0].createdAt))).toBe(false);
  });

  it('answers 404 not-found for unknown and malformed ids', async () => {
    for (const id of ['AAAAAAAAAAAAAAAAAAAAAAAA', 'x', '%00', 'a'.repeat(500)]) {
      const response = await request(server.url).get(`/api/conversations/${id}`);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('not-found');
    }
  });

  it('deletes a conversation with 204, after which it is gone (404 for both read and delete)', async () => {
    upstream.script({ kind: 'deltas', deltas: ['ok'] });
    const { conversationId } = await oneTurn(server, 'Forget me');
    expect((await request(server.url).delete(`/api/conversations/${conversationId}`)).status).toBe(204);
    expect((await request(server.url).get(`/api/conversations/${conversationId}`)).status).toBe(404);
    const again = await request(server.url).delete(`/api/conversations/${conversationId}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('not-found');
    // And a chat turn into it is refused rather than silently starting anew.
    const turn = await request(server.url).post('/api/chat').send({ conversationId, message: 'Still there?' });
    expect(turn.status).toBe(404);
  });
});

describe('POST /api/feedback', () => {
  it('records a rating for an assistant message, last one wins', async () => {
    upstream.script({ kind: 'deltas', deltas: ['Sure.'] });
    const { conversationId, messageId } = await oneTurn(server, 'Can I pay by card?');
    expect((await request(server.url).post('/api/feedback').send({ conversationId, messageId, rating: 'up' })).status).toBe(204);
    expect((await request(server.url).post('/api/feedback').send({ conversationId, messageId, rating: 'down' })).status).toBe(204);
    expect(await server.store.getFeedback(conversationId, messageId)).toBe('down');
  });

  it('answers 404 for a user message, another conversation\'s message, or an unknown one', async () => {
    upstream.script({ kind: 'deltas', deltas: ['A'] });
    const first = await oneTurn(server, 'Question one');
    const other = await oneTurn(server, 'Question two');
    const userMessageId = (await server.store.getConversation(first.conversationId))!.messages[0]!.id;
    for (const body of [
      { conversationId: first.conversationId, messageId: userMessageId, rating: 'up' },
      { conversationId: first.conversationId, messageId: other.messageId, rating: 'up' },
      { conversationId: first.conversationId, messageId: 'BBBBBBBBBBBBBBBBBBBBBBBB', rating: 'up' },
    ]) {
      const response = await request(server.url).post('/api/feedback').send(body);
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('not-found');
    }
  });

  it('answers 400 bad-request for a bad rating or missing fields', async () => {
    for (const body of [{}, { conversationId: 'a', messageId: 'b', rating: 'meh' }, { conversationId: 1, messageId: 'b', rating: 'up' }]) {
      const response = await request(server.url).post('/api/feedback').send(body);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('bad-request');
    }
  });
});

describe('restart', () => {
  it('serves a conversation after the server is closed and re-created on the same SQLite file', async () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'chatdrop-restart-')), 'chatdrop.db');
    const first = await startTestServer({ upstream, dbPath });
    upstream.script({ kind: 'deltas', deltas: ['Remembered.'] });
    const { conversationId } = await oneTurn(first, 'Remember this');
    await first.close();

    const second = await startTestServer({ upstream, dbPath });
    try {
      const response = await request(second.url).get(`/api/conversations/${conversationId}`);
      expect(response.status).toBe(200);
      expect(response.body.messages.map((m: { content: string }) => m.content)).toEqual(['Remember this', 'Remembered.']);
      // And the conversation continues with its history.
      upstream.script({ kind: 'deltas', deltas: ['Yes.'] });
      await oneTurn(second, 'Still?', conversationId);
      expect(upstream.requests.at(-1)!.body.messages.map((m: { content: string }) => m.content)).toEqual([
        'You are the test help desk.',
        'Remember this',
        'Remembered.',
        'Still?',
      ]);
    } finally {
      await second.close();
      rmSync(dirname(dbPath), { recursive: true, force: true });
    }
  });
});
