import { describe, expect, it } from 'vitest';
import { MemoryStreamBuffer } from './memory-stream-buffer.js';
import { collect, replyEvents, streamBufferSuite } from './stream-buffer.suite.js';
import { StreamGapError } from './stream-gap-error.js';

streamBufferSuite('MemoryStreamBuffer', async ({ endTtlMs }) => ({ buffer: new MemoryStreamBuffer({ endTtlMs }) }));

describe('MemoryStreamBuffer', () => {
  it('fails a resume whose next event was trimmed by the cap instead of skipping it', async () => {
    const buffer = new MemoryStreamBuffer({ maxEvents: 3 });
    const events = replyEvents(['a', 'b', 'c', 'd']);
    for (const [index, event] of events.entries()) await buffer.append('m', index + 1, event);
    await expect(collect(buffer, 'm', 1)).rejects.toBeInstanceOf(StreamGapError);
    expect((await collect(buffer, 'm', 3)).map((item) => item.id)).toEqual([4, 5, 6]);
    await buffer.close();
  });

  it('drops a stream whose writer went quiet without ending it, and its follower stops', async () => {
    const buffer = new MemoryStreamBuffer({ runningTtlMs: 200 });
    await buffer.append('m', 1, replyEvents([])[0]!);
    const seen = await collect(buffer, 'm', 0);
    expect(seen.map((item) => item.id)).toEqual([1]);
    expect(await buffer.has('m')).toBe(false);
    await buffer.close();
  });
});
