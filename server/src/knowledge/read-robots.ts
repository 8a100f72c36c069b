import { fetchPage, type FetchLimits } from './fetch-page.js';
import { ALLOW_ALL, parseRobots, ROBOTS_MAX_BYTES, unreachableRobots, wholeLines, type Robots } from './robots.js';

/** RFC 9309 2.3.1.2: "crawlers SHOULD follow at least five consecutive redirects". */
const MAX_ROBOTS_REDIRECTS = 5;

/**
 * Fetches and reads an origin's robots.txt, answering each outcome as RFC 9309 2.3.1 asks:
 *
 * - 2xx: its rules. Only the first `ROBOTS_MAX_BYTES` are downloaded (the connection is closed
 *   there, so a file of any size costs at most that much memory and time), cut at the last whole
 *   line (2.5).
 * - 3xx: followed up to five times, to another origin too, as 2.3.1.2 asks ("even across
 *   authorities": a bare domain's robots.txt that moves to `www.`, http to https); past five the
 *   file is "unavailable" (2.3.1.2 allows that reading). Only robots.txt is asked there: the
 *   crawl itself stays on the origins the configuration names.
 * - 4xx, "unavailable": no rules, everything may be crawled (2.3.1.3); except 429, which says
 *   "not now" like a server error (Google's crawlers read it so too).
 * - 5xx, or no answer (network error, timeout): "unreachable", crawl nothing (2.3.1.4). The
 *   crawler reads robots.txt again at the next refresh; meanwhile the pages already indexed stay
 *   (the site said nothing about them).
 */
export async function readRobots(origin: string, limits: FetchLimits): Promise<Robots> {
  const bounded = { ...limits, maxBytes: ROBOTS_MAX_BYTES };
  let url = `${origin}/robots.txt`;
  for (let redirects = 0; ; redirects++) {
    const answer = await fetchPage(url, bounded, { truncate: true });
    switch (answer.kind) {
      case 'ok':
        // Parsed whatever its Content-Type: 2.3.1.1 asks the parseable rules to be followed.
        return parseRobots(answer.truncated === true ? wholeLines(answer.body) : answer.body);
      case 'not-modified': // nothing conditional was asked: an odd answer, read as an empty file
        return ALLOW_ALL;
      case 'redirect': {
        if (redirects >= MAX_ROBOTS_REDIRECTS) return ALLOW_ALL;
        const next = answer.location !== undefined && URL.canParse(answer.location, url) ? new URL(answer.location, url) : undefined;
        // A redirect to nowhere, or to something other than a web address: no file to read.
        if (next === undefined || !/^https?:$/.test(next.protocol)) return ALLOW_ALL;
        url = next.href;
        continue;
      }
      case 'status':
        if (answer.status === 429) return unreachableRobots('robots.txt answered HTTP 429 (too many requests)');
        if (answer.status < 500) return ALLOW_ALL; // 4xx, or a 2xx other than 200 (no body to read)
        return unreachableRobots(`robots.txt answered HTTP ${answer.status}`);
      case 'failed':
        return unreachableRobots(`robots.txt could not be read (${answer.reason}: ${answer.detail})`);
      default: {
        const unexpected: never = answer;
        throw new Error(`unexpected fetch result ${JSON.stringify(unexpected)}`);
      }
    }
  }
}
