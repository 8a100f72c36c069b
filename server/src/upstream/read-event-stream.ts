import type { Readable } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * The most text one SSE event may buffer (a line without its end, an event without its blank
 * line): a chat chunk is a few hundred bytes, so an upstream past this is broken or hostile, and
 * the stream fails instead of growing without bound.
 */
const MAX_BUFFERED_CHARS = 1 << 20;

/**
 * Reads an event-stream body and hands each SSE message to `onMessage` as it completes, with a
 * plain call: no async iterator, promise or buffer copy per chunk (the `openai` SDK's own stream
 * reader is three async generators deep and copies its buffer on every chunk, the largest part
 * of the proxy's CPU per token).
 *
 * The body is what the `openai` client's fetch returned (`upstream-fetch.ts`): a Node stream,
 * read by its `data` events, for a 2xx answer labelled `text/event-stream`; a web `ReadableStream`
 * for a 2xx answer labelled otherwise or not at all (some OpenAI-compatible servers send their
 * event stream as `text/plain` or with no type: that fetch hands it over as a real `Response`,
 * and the SDK's `asResponse()` checks no type), or from any other fetch. Framing is
 * eventsource-parser's (CR, LF and CRLF line ends, a line or a multibyte character cut across
 * chunks, comments, multi-line data), in linear time.
 *
 * A body that carries no SSE message at all is not an event stream, whatever its label: a server
 * that ignored `stream: true` and sent one JSON chat completion, an HTML page answered with 200,
 * an empty body. Until the first message comes, the text read so far is kept, at most
 * `MAX_UNFRAMED_CHARS` of it, and handed back whole when the body ends, for the caller to judge
 * (`upstream.ts`). Past that without a message, the read fails: nothing grows without bound.
 *
 * Resolves when the body ends: with `undefined` when it carried at least one message, with its
 * whole text when it carried none. Rejects with the body's own error (a dropped connection, the
 * `AbortError` of an abort: the caller tells those apart), with `TypeError: terminated` when it
 * closes without ending (as fetch says it), with a `NotAnEventStreamError` past the limit, or with
 * whatever `onMessage` throws, after which the body is destroyed and nothing more is read.
 */
export function readEventStream(body: unknown, onMessage: (message: EventSourceMessage) => void): Promise<string | undefined> {
  if (isNodeReadable(body)) return readNode(body, onMessage);
  if (isWebStream(body)) return readWeb(body, onMessage);
  return Promise.reject(new TypeError('the upstream answered an event stream without a body'));
}

/**
 * The most text a body may carry before its first SSE message: a whole chat completion is a few
 * KiB (the output cap bounds it), a real event stream's first message comes in its first bytes.
 */
export const MAX_UNFRAMED_CHARS = 1 << 20;

/** A body past `MAX_UNFRAMED_CHARS` without a single SSE message. */
export class NotAnEventStreamError extends Error {
  override readonly name = 'NotAnEventStreamError';
}

function readNode(body: Readable, onMessage: (message: EventSourceMessage) => void): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      if (error === undefined) resolve(parser.unframed());
      else {
        reject(error);
        body.destroy();
      }
    };
    const parser = framedParser(onMessage);
    // A multibyte character cut between two chunks is joined before it reaches the parser.
    body.setEncoding('utf8');
    const onData = (text: string): void => {
      try {
        parser.feed(text);
      } catch (error) {
        settle(error);
      }
    };
    body.on('data', onData);
    body.once('end', () => settle(undefined));
    body.once('error', (error) => settle(error));
    body.once('close', () => settle(new TypeError('terminated')));
  });
}

async function readWeb(body: ReadableStream<Uint8Array>, onMessage: (message: EventSourceMessage) => void): Promise<string | undefined> {
  const parser = framedParser(onMessage);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        parser.feed(decoder.decode());
        return parser.unframed();
      }
      parser.feed(decoder.decode(value, { stream: true }));
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}

interface FramedParser {
  /** Throws past a limit (see `framedParser`) or what `onMessage` throws. */
  feed(text: string): void;
  /** At the body's end: `undefined` when a message came, else all the text fed. */
  unframed(): string | undefined;
}

/**
 * The most lines a body may carry that are no SSE field (`data`, `event`, `id`, `retry`) nor a
 * comment. The spec ignores such a line, but eventsource-parser reports each with a new Error
 * (~10-20 µs), so a megabyte of bare one-character lines held the event loop for seconds. A real
 * stream has none; a JSON completion a line or a few dozen.
 */
const MAX_IGNORED_LINES = 1000;

/** Thrown through the parser to stop it parsing a body that is plainly no event stream. */
const NOT_SSE = Symbol('not an event stream');

/**
 * eventsource-parser, failing (by throwing from `feed`) on an event past `MAX_BUFFERED_CHARS`,
 * and keeping the text fed until its first message, failing past `MAX_UNFRAMED_CHARS` of it.
 * Past `MAX_IGNORED_LINES` ignored lines, a body that has had a message fails, and one that has
 * not is kept whole without parsing the rest (the caller judges it as a whole answer).
 */
function framedParser(onMessage: (message: EventSourceMessage) => void): FramedParser {
  let framed = false;
  let parsing = true;
  let ignored = 0;
  let text = '';
  const parser = createParser({
    onEvent: (message) => {
      if (!framed) {
        framed = true;
        text = '';
      }
      onMessage(message);
    },
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') throw error;
      // Every line the parser complains of (a field it does not know, a `retry:` that is no
      // number) costs an Error: bounded like the rest.
      if (++ignored > MAX_IGNORED_LINES) {
        if (!framed) throw NOT_SSE;
        throw new NotAnEventStreamError(`the upstream's event stream had more than ${MAX_IGNORED_LINES} lines that are no SSE field`);
      }
    },
    maxBufferSize: MAX_BUFFERED_CHARS,
  });
  return {
    feed(chunk) {
      if (!framed) {
        text += chunk;
        if (text.length > MAX_UNFRAMED_CHARS) {
          throw new NotAnEventStreamError(`the upstream sent more than ${MAX_UNFRAMED_CHARS} characters without an event`);
        }
        if (!parsing) return;
      }
      try {
        parser.feed(chunk);
      } catch (error) {
        if (error !== NOT_SSE) throw error;
        parsing = false;
      }
    },
    unframed: () => (framed ? undefined : text),
  };
}

function isNodeReadable(body: unknown): body is Readable {
  return typeof (body as Readable | null)?.on === 'function' && typeof (body as Readable).setEncoding === 'function';
}

function isWebStream(body: unknown): body is ReadableStream<Uint8Array> {
  return typeof (body as ReadableStream | null)?.getReader === 'function';
}
