import type { StreamBuffer } from '../server/src/replies/stream-buffer/stream-buffer.js';
import { measured, notMeasured, round, type Measured } from './figure.js';
import { startRedis } from './redis-server.js';
import { workspaceImport } from './workspace-import.js';

type StreamEvent = Parameters<StreamBuffer['append']>[2];

const READERS = 150;
const EVENTS = 1_000;

/**
 * Resumed readers following one live reply: what a reader costs per event, and what they cost in
 * Redis connections. RedisStreamBuffer follows every live stream of an instance on one blocking
 * connection and fans events out in memory; the baseline is MemoryStreamBuffer (one instance,
 * no Redis at all) with the same readers and events in the same run. Writer and readers run in
 * this process, so both figures include the writer's share alike.
 */
export async function resumeFanout(): Promise<Measured[]> {
  const redis = await startRedis().catch((error: unknown) => error as Error);
  if (redis instanceof Error) return [notMeasured('Resume fan-out, Redis', 'µs', redis.message)];
  const { Redis } = await workspaceImport<typeof import('ioredis')>('server', 'ioredis');
  const { RedisStreamBuffer } = await import('../server/src/replies/stream-buffer/redis-stream-buffer.js');
  const { MemoryStreamBuffer } = await import('../server/src/replies/stream-buffer/memory-stream-buffer.js');
  const connections = [new Redis(redis.url), new Redis(redis.url), new Redis(redis.url)];
  const [writerRedis, readerRedis, observer] = connections as [InstanceType<typeof Redis>, InstanceType<typeof Redis>, InstanceType<typeof Redis>];
  const clients = async (): Promise<number> => Number(/connected_clients:(\d+)/.exec(await observer.info('clients'))?.[1]);
  try {
    const memory = new MemoryStreamBuffer();
    const baseline = await follow(memory, memory, 'memory');
    await memory.close();

    const writer = new RedisStreamBuffer({ redis: writerRedis, keyPrefix: 'bench:' });
    const reader = new RedisStreamBuffer({ redis: readerRedis, keyPrefix: 'bench:' });
    const before = await clients();
    let during = 0;
    const viaRedis = await follow(writer, reader, 'redis', async () => (during = await clients()));
    await Promise.all([writer.close(), reader.close()]);
    return [
      measured({
        figure: `Resume fan-out, ${READERS} readers of one live reply, CPU per event per reader (Redis)`,
        unit: 'µs',
        value: round(viaRedis, 2),
        baseline: 'MemoryStreamBuffer, same readers',
        baselineValue: round(baseline, 2),
      }),
      measured({
        figure: `Redis connections added while ${READERS} readers follow`,
        unit: 'connections',
        value: during - before,
        baseline: 'readers following',
        baselineValue: READERS,
        note: 'one blocking connection per instance; before it, one per reader',
      }),
    ];
  } finally {
    for (const connection of connections) connection.disconnect();
    await redis.stop();
  }
}

/** µs of this process's CPU per event per reader, from the first live event to the last delivered. */
async function follow(writer: StreamBuffer, reader: StreamBuffer, id: string, whileFollowing?: () => Promise<unknown>): Promise<number> {
  const start: StreamEvent = { type: 'message-start', conversationId: 'c', messageId: id, model: 'fast' };
  await writer.append(id, 1, start);
  let delivered = 0;
  const readers = Array.from({ length: READERS }, async () => {
    const controller = new AbortController();
    for await (const _ of reader.read(id, 0, controller.signal)) delivered++;
  });
  while (delivered < READERS) await new Promise((resolve) => setTimeout(resolve, 10));
  // Replayed: now every reader waits on the live stream.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await whileFollowing?.();
  const cpu = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) void writer.append(id, i + 2, { type: 'text-delta', delta: 'word ' });
  await writer.append(id, EVENTS + 2, { type: 'message-end', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: EVENTS } });
  await Promise.all(readers);
  const used = process.cpuUsage(cpu);
  if (delivered !== READERS * (EVENTS + 2)) throw new Error(`${id}: readers got ${delivered} events, expected ${READERS * (EVENTS + 2)}`);
  return (used.user + used.system) / (EVENTS * READERS);
}
