import { MemoryReplyBus } from './memory-reply-bus.js';
import { replyBusSuite } from './reply-bus.suite.js';

replyBusSuite('MemoryReplyBus', async () => {
  const bus = new MemoryReplyBus();
  return { running: bus, stopping: bus };
});
