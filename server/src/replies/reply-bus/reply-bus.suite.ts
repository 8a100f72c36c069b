import { afterEach, describe, expect, it } from 'vitest';
import type { ReplyBus } from './reply-bus.js';

export interface ReplyBusHarness {
  /** The instance running the reply. */
  running: ReplyBus;
  /** The instance the stop request reaches: another one on Redis, the same one in memory. */
  stopping: ReplyBus;
  cleanup?: () => Promise<void>;
}

let counter = 0;
function messageId(): string {
  counter += 1;
  return `msg-${process.pid}-${Date.now()}-${counter}`;
}

/** The same behaviour from every `ReplyBus` backend. */
export function replyBusSuite(name: string, make: () => Promise<ReplyBusHarness>): void {
  describe(name, () => {
    const harnesses: ReplyBusHarness[] = [];
    async function open(): Promise<ReplyBusHarness> {
      const harness = await make();
      harnesses.push(harness);
      return harness;
    }
    afterEach(async () => {
      for (const harness of harnesses.splice(0)) {
        await harness.running.close();
        if (harness.stopping !== harness.running) await harness.stopping.close();
        await harness.cleanup?.();
      }
    });

    it('delivers a stop to the reply registered for that message id', async () => {
      const { running, stopping } = await open();
      const id = messageId();
      let stops = 0;
      running.onStop(id, () => stops++);
      await stopping.requestStop(id);
      await expect.poll(() => stops).toBe(1);
    });

    it('reaches only the reply it names, and every handler registered for it', async () => {
      const { running, stopping } = await open();
      const [target, other] = [messageId(), messageId()];
      const stopped: string[] = [];
      running.onStop(target, () => stopped.push('target 1'));
      running.onStop(target, () => stopped.push('target 2'));
      running.onStop(other, () => stopped.push('other'));
      await stopping.requestStop(target);
      await expect.poll(() => stopped.length).toBe(2);
      // The other reply would have been reached by now (same channel, same order): it was not.
      await stopping.requestStop(target);
      await expect.poll(() => stopped.length).toBe(4);
      expect(stopped).not.toContain('other');
    });

    it('no longer reaches a reply once it has unregistered', async () => {
      const { running, stopping } = await open();
      const id = messageId();
      const stopped: string[] = [];
      const unregister = running.onStop(id, () => stopped.push('ended reply'));
      running.onStop(id, () => stopped.push('witness'));
      unregister();
      await stopping.requestStop(id);
      await expect.poll(() => stopped).toEqual(['witness']);
    });

    it('tells the running reply about a reader on the other side, and keeps stops and readers apart', async () => {
      const { running, stopping } = await open();
      const id = messageId();
      const heard: string[] = [];
      running.onStop(id, () => heard.push('stop'));
      const unregister = running.onReader(id, () => heard.push('reader'));
      await stopping.announceReader(id);
      await stopping.announceReader(id);
      await expect.poll(() => heard).toEqual(['reader', 'reader']);
      unregister();
      await stopping.announceReader(id);
      await stopping.requestStop(id);
      await expect.poll(() => heard).toEqual(['reader', 'reader', 'stop']);
    });

    it('treats a stop for a reply that runs nowhere as a no-op', async () => {
      const { stopping } = await open();
      await expect(stopping.requestStop(messageId())).resolves.toBeUndefined();
      await expect(stopping.announceReader(messageId())).resolves.toBeUndefined();
    });
  });
}
