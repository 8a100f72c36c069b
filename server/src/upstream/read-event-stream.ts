import type { Readable } from 'node:stream';
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';

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
 * event stream as `text/plain` or with no type: that fetch reads it whole into a real `Response`,
 * and the SDK's `asResponse()` checks no type), or from any other fetch. Framing is
 * eventsource-parser's (CR, LF and CRLF line ends, a line or a multibyte character cut across
 * chunks, comments, multi-line data), in linear time.
 *
 * Resolves when the body ends. Rejects with the body's own error (a dropped connection, the
 * `AbortError` of an abort: the caller tells those apart), with `TypeError: terminated` when it
 * closes without ending (as fetch says it), or with whatever `onMessage` throws, after which the
 * body is destroyed and nothing more is read.
 */
export function readEventStream(body: unknown, onMessage: (message: EventSourceMessage) => void): Promise<void> {
  if (isNodeReadable(body)) return readNode(body, onMessage);
  if (isWebStream(body)) return readWeb(body, onMessage);
  return Promise.reject(new TypeError('the upstream answered an event stream without a body'));
}

function readNode(body: Readable, onMessage: (message: EventSourceMessage) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown): void => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      if (error === undefined) resolve();
      else {
        reject(error);
        body.destroy();
      }
    };
    const parser = boundedParser(onMessage);
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

async function readWeb(body: ReadableStream<Uint8Array>, onMessage: (message: EventSourceMessage) => void): Promise<void> {
  const parser = boundedParser(onMessage);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}

/** eventsource-parser, failing (by throwing from `feed`) on an event past `MAX_BUFFERED_CHARS`. */
function boundedParser(onMessage: (message: EventSourceMessage) => void): EventSourceParser {
  return createParser({
    onEvent: onMessage,
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') throw error;
    },
    maxBufferSize: MAX_BUFFERED_CHARS,
  });
}

function isNodeReadable(body: unknown): body is Readable {
  return typeof (body as Readable | null)?.on === 'function' && typeof (body as Readable).setEncoding === 'function';
}

function isWebStream(body: unknown): body is ReadableStream<Uint8Array> {
  return typeof (body as ReadableStream | null)?.getReader === 'function';
}
