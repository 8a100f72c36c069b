/** One dispatched SSE event, as the HTML spec's EventSource would see it. */
export interface SseMessage {
  data: string;
  /** The last event ID: it carries over to later events that name none ('' until one does). */
  id: string;
  /** The `event:` field, '' when the event named none (EventSource calls that type "message"). */
  event: string;
}

/**
 * A decoder for a `text/event-stream` body, following the HTML spec's parsing rules
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * lines end at CR, LF or CRLF (a CR ending one chunk and the LF starting the next are one line
 * end); one leading U+FEFF is dropped; `:` starts a comment; a line without a colon is a field with
 * an empty value; one space after the colon is not part of the value; `data` lines join with LF;
 * an `id` containing NUL is ignored; `retry` counts only when it is all ASCII digits; an event
 * with no data is not dispatched, and neither is an unfinished one when the stream ends.
 *
 * Feed it text decoded from UTF-8 with the BOM left in (`new TextDecoder('utf-8', { ignoreBOM:
 * true })`, decoding with `stream: true`), or a BOM would be dropped twice.
 *
 * Linear in the input however it is cut: each chunk is split once, and an unfinished line is only
 * appended to (a rope in JS engines), never searched again.
 */
export function createSseDecoder(onEvent: (message: SseMessage) => void, onRetry?: (ms: number) => void) {
  let line = '';
  let data = '';
  let event = '';
  let id = '';
  /** A character the next chunk must drop if it starts with it: the BOM, then the LF of a CRLF. */
  let skip = '\uFEFF';
  const field = (text: string) => {
    const colon = text.indexOf(':');
    const name = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? '' : text.slice(text[colon + 1] == ' ' ? colon + 2 : colon + 1);
    if (!text) {
      if (data) onEvent({ data: data.slice(0, -1), id, event });
      data = event = '';
    } else if (name == 'data') data += value + '\n';
    else if (name == 'event') event = value;
    else if (name == 'id') {
      if (!value.includes('\0')) id = value;
    } else if (onRetry && name == 'retry' && /^\d+$/.test(value)) onRetry(+value);
  };
  return (chunk: string): void => {
    if (!chunk) return;
    if (chunk[0] == skip) chunk = chunk.slice(1);
    skip = chunk.endsWith('\r') ? '\n' : '';
    const lines = chunk.split(/\r\n?|\n/);
    lines[0] = line + lines[0];
    line = lines.pop()!;
    lines.forEach(field);
  };
}
