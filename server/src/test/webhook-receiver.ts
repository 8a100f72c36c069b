import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the receiver does with one request: answer 500, never answer, accept with 200 after 300 ms, or at once. */
export type WebhookBehaviour = 'fail' | 'hang' | 'slow' | 'accept';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as signed. */
  body: string;
  behaviour: WebhookBehaviour;
}

export interface WebhookReceiver {
  url: string;
  /** Every request, whatever it was answered. */
  requests: ReceivedWebhook[];
  /** The requests answered 200. */
  accepted(): ReceivedWebhook[];
  /** Resolves once `count` requests have been accepted; rejects after `timeoutMs`. */
  waitForAccepted(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  /** Resolves once `count` requests have arrived at all. */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/**
 * A real HTTP receiver on loopback for hand-off webhooks. `script` says how to treat the first
 * requests, in order; every later one is accepted. `port` reuses a port (a receiver that was
 * down comes back where the server expects it).
 */
export async function startWebhookReceiver(script: WebhookBehaviour[] = [], port = 0): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  const plan = [...script];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const behaviour = plan.shift() ?? 'accept';
      const received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), behaviour };
      if (behaviour === 'hang') {
        requests.push(received);
        for (const wake of waiters) wake();
        return; // the sender's timeout has to end it
      }
      const answer = () => {
        requests.push(received);
        res.writeHead(behaviour === 'fail' ? 500 : 200, { 'Content-Type': 'text/plain' });
        res.end(behaviour === 'fail' ? 'receiver is down\n' : 'ok\n');
        for (const wake of waiters) wake();
      };
      if (behaviour === 'slow') setTimeout(answer, 300);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  const accepted = () => requests.filter((r) => r.behaviour === 'accept' || r.behaviour === 'slow');
  const waitFor = (pick: () => ReceivedWebhook[], count: number, timeoutMs: number, what: string) =>
    new Promise<ReceivedWebhook[]>((resolve, reject) => {
      const check = () => {
        if (pick().length < count) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(pick());
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`webhook receiver: ${pick().length} of ${count} ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    url: `http://127.0.0.1:${bound}/hooks/chatdrop`,
    requests,
    accepted,
    waitForAccepted: (count, timeoutMs = 20_000) => waitFor(accepted, count, timeoutMs, 'accepted'),
    waitForRequests: (count, timeoutMs = 20_000) => waitFor(() => requests, count, timeoutMs, 'requests'),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
