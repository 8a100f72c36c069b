import { isStreamEvent, type StreamEvent } from './stream-event.js';

/**
 * SSE framing of the contract: one `id:` line and one `data:` line per event, no `event:` lines.
 * JSON.stringify never emits a raw CR or LF (they are escaped inside strings), so the JSON can
 * safely stand on one `data:` line. U+2028/U+2029 are legal there too: SSE splits only on CR/LF.
 */
export function encodeSseEvent(id: number, event: StreamEvent): string {
  return `id: ${id}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** A comment line: ignored by every SSE parser, it keeps proxies from closing a quiet stream. */
export const SSE_PING = ': ping\n\n';

/** How long a stream may stay quiet before a ping goes out (contract: 15 s). */
export const SSE_PING_INTERVAL_MS = 15_000;

/**
 * Parses one `data:` payload into a stream event, or returns undefined for anything that is
 * not one (bad JSON, unknown type, missing fields).
 */
export function decodeSseData(data: string): StreamEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  return isStreamEvent(value) ? value : undefined;
}
