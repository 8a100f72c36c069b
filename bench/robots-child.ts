/**
 * One robots.txt read in a process of its own (`robots.ts`), so its peak resident memory is the
 * read's alone: reads `${origin}/robots.txt`, then reports the process's peak RSS (the kernel's
 * high-water mark) over IPC and exits.
 */
import { DEFAULT_LIMITS } from '../server/src/knowledge/crawl.js';
import { readRobots } from '../server/src/knowledge/read-robots.js';

const robots = await readRobots(process.argv[2] ?? '', { ...DEFAULT_LIMITS, timeoutMs: 30_000 });
if (robots.allows('/private')) throw new Error('the rule was not read');
process.send?.({ maxRssKB: process.resourceUsage().maxRSS });
process.disconnect?.();
