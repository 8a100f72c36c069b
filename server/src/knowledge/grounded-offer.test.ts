import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstream, type MockUpstream } from '../test/mock-upstream.js';
import { postChat, readEvents } from '../test/read-sse.js';
import { articlePage, startStaticSite, type StaticSite } from '../test/static-site.js';
import { startTestServer, type TestServer } from '../test/test-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../test/webhook-receiver.js';

const RESET = articlePage('Reset your password', {
  'On the web': 'Choose Forgot password on the sign-in page, enter your email address, and open the reset link we send.',
});
const BUTTON = '"Talk to a person" button';
const SUPPORT = 'https://example.com/support';

let upstream: MockUpstream;
let site: StaticSite;
let webhook: WebhookReceiver;
beforeAll(async () => {
  upstream = await startMockUpstream();
  webhook = await startWebhookReceiver();
  site = await startStaticSite({ '/help/reset': { body: RESET } });
});
afterAll(async () => {
  await site?.close();
  await webhook?.close();
  await upstream?.close();
});
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** The system message the mock upstream received for one question on a server with this environment. */
async function systemFor(server: TestServer, message: string): Promise<string> {
  upstream.script({ kind: 'deltas', deltas: ['An answer.'] });
  const before = upstream.requests.length;
  const { events } = await readEvents(await postChat(server.url, { message }));
  expect(events.map((e) => e.event.type)).toContain('message-end');
  const body = upstream.requests[before]?.body as { messages: { role: string; content: string }[] };
  return body.messages[0]?.content ?? '';
}

async function knowledgeServer(env: Record<string, string>): Promise<TestServer> {
  const server = await startTestServer({ upstream, env: { CHATDROP_KNOWLEDGE: `${site.origin}/help/reset`, CHATDROP_RATE_LIMIT: '1000', ...env } });
  servers.push(server);
  await expect.poll(async () => (await fetch(`${server.url}/readyz`)).status, { timeout: 20_000 }).toBe(200);
  return server;
}

const COVERED = 'How do I reset my password?';
const NOT_COVERED = 'What is the capital of France?';

describe('the grounded prompt offers what the site has for a question its pages do not answer', () => {
  it('offers the hand-off when a channel is configured, with passages and without', async () => {
    const server = await knowledgeServer({ CHATDROP_HANDOFF_WEBHOOK: webhook.url });
    expect(await (await fetch(`${server.url}/api/config`)).json()).toMatchObject({ handoff: true });
    const covered = await systemFor(server, COVERED);
    expect(covered).toContain('open the reset link we send');
    // Told to answer from the passages, and where they fall short, to offer the hand-off.
    expect(covered).toMatch(/If the passages do not cover the question[^<]*offer a person's help with the "Talk to a person" button below the chat\./);
    const uncovered = await systemFor(server, NOT_COVERED);
    expect(uncovered).toContain('<knowledge>\n</knowledge>');
    expect(uncovered).toContain(`offer a person's help with the ${BUTTON} below the chat.`);
    expect(uncovered).not.toContain(SUPPORT);
    // Offering is all the prompt does: no hand-off was sent anywhere.
    expect(webhook.requests).toEqual([]);
  });

  it('offers both the hand-off and the support link when both are configured', async () => {
    const server = await knowledgeServer({ CHATDROP_HANDOFF_WEBHOOK: webhook.url, CHATDROP_SUPPORT_URL: SUPPORT });
    for (const question of [COVERED, NOT_COVERED]) {
      expect(await systemFor(server, question)).toContain(`offer a person's help: the ${BUTTON} below the chat, or support at ${SUPPORT}.`);
    }
  });

  it('does not offer a hand-off that is not there: the support link alone, or the site\'s support team', async () => {
    const withLink = await knowledgeServer({ CHATDROP_SUPPORT_URL: SUPPORT });
    expect(await (await fetch(`${withLink.url}/api/config`)).json()).not.toHaveProperty('handoff');
    for (const question of [COVERED, NOT_COVERED]) {
      const system = await systemFor(withLink, question);
      expect(system).not.toContain('Talk to a person');
      expect(system).toContain(`point the visitor to support at ${SUPPORT}.`);
    }
    const bare = await knowledgeServer({});
    for (const question of [COVERED, NOT_COVERED]) {
      const system = await systemFor(bare, question);
      expect(system).not.toContain('Talk to a person');
      expect(system).not.toContain(SUPPORT);
      expect(system).toContain("suggest the visitor contacts the site's support team.");
    }
  });
});
