import { createParser } from 'eventsource-parser';
import { decodeSseData, type StreamEvent } from '@chatdrop/shared';

export interface ReceivedEvent {
  id: string | undefined;
  event: StreamEvent;
}

/** POSTs a chat request the way the widget does. */
export function postChat(baseUrl: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${baseUrl}/api/chat`, {
    ...init,
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    body: JSON.stringify(body),
  });
}

/**
 * Reads an SSE response to its end with eventsource-parser (a parser other than the widget's own,
 * shared's createSseDecoder, so the server is checked against a second reading), checking every
 * payload with the shared decoder. `onEvent` may return 'stop' to stop reading early.
 */
export async function readEvents(
  response: Response,
  onEvent?: (event: StreamEvent, all: ReceivedEvent[]) => 'stop' | void,
): Promise<{ events: ReceivedEvent[]; comments: string[]; stopped: boolean }> {
  const events: ReceivedEvent[] = [];
  const comments: string[] = [];
  let stop = false;
  const parser = createParser({
    onEvent(message) {
      if (message.event !== undefined) throw new Error(`unexpected event: line ${message.event}`);
      const event = decodeSseData(message.data);
      if (event === undefined) throw new Error(`not a stream event: ${message.data}`);
      events.push({ id: message.id, event });
      if (onEvent?.(event, events) === 'stop') stop = true;
    },
    onComment(comment) {
      comments.push(comment);
    },
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  while (!stop) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  if (stop) await reader.cancel().catch(() => {});
  return { events, comments, stopped: stop };
}

/** The text of all `text-delta` events, joined. */
export function textOf(events: ReceivedEvent[]): string {
  return events.map(({ event }) => (event.type === 'text-delta' ? event.delta : '')).join('');
}
