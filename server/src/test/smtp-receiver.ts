import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** MAIL FROM and RCPT TO as the server saw them. */
  envelope: { from: string; to: string[] };
  /** The message as it arrived, byte for byte. */
  raw: string;
  /** The same, parsed by mailparser. */
  parsed: ParsedMail;
}

export interface SmtpReceiver {
  port: number;
  /** `smtp://user:password@127.0.0.1:<port>` */
  url: string;
  received: ReceivedMail[];
  /** Messages refused so far (answered 451). */
  refused: number;
  /** Refuse the next `count` messages (0: accept from now on). */
  refuseNext(count: number): void;
  waitForMail(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export const SMTP_USER = 'chatdrop';
export const SMTP_PASSWORD = 'smtp-password-not-in-any-log';

/**
 * A real SMTP server on loopback (smtp-server), which requires the login from its URL and parses
 * each message with mailparser. It refuses the first `refuse` messages with a temporary 451, as a
 * mail server under load does. No STARTTLS: plain SMTP on loopback.
 */
export async function startSmtpReceiver(options: { refuse?: number; port?: number } = {}): Promise<SmtpReceiver> {
  const received: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  let refuse = options.refuse ?? 0;
  const state = { refused: 0 };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (refuse > 0) {
          refuse--;
          state.refused++;
          callback(Object.assign(new Error('Mailbox busy, try again later'), { responseCode: 451 }));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            const from = session.envelope.mailFrom;
            received.push({
              envelope: { from: from === false ? '' : from.address, to: session.envelope.rcptTo.map((r) => r.address) },
              raw,
              parsed,
            });
            for (const wake of waiters) wake();
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  const listening = server.listen(options.port ?? 0, '127.0.0.1');
  await once(listening, 'listening');
  const address = listening.address() as AddressInfo;
  return {
    port: address.port,
    url: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${address.port}`,
    received,
    get refused() {
      return state.refused;
    },
    refuseNext(count) {
      refuse = count;
    },
    waitForMail: (count, timeoutMs = 20_000) =>
      new Promise<ReceivedMail[]>((resolve, reject) => {
        const check = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(received);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`SMTP receiver: ${received.length} of ${count} messages within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
