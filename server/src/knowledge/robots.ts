/**
 * robots.txt as RFC 9309 reads it, for one user agent: the group naming our product token
 * (`Chatdrop`, case-insensitive) or else the `*` group; the longest matching Allow/Disallow path
 * wins, Allow on a tie; `*` matches any run of characters and a final `$` anchors the end.
 * `Crawl-delay` (not in the RFC, widely used) is read too. Lines end at CR, LF or CRLF (2.2).
 *
 * Hostile input: only the first `ROBOTS_MAX_BYTES` are read (2.5: the parsing limit "MUST be at
 * least 500 kibibytes"; the rest is ignored, not a reason to refuse the file), cut after the last
 * whole line so a rule cut in two is never read as its prefix; lines are parsed one by one with no
 * regex that can backtrack, and a pattern is matched segment by segment with `indexOf` (greedy
 * leftmost matching is exact for `*`-only globs), so a check is linear in the path and the rules.
 */
export interface Robots {
  allows(path: string): boolean;
  /** Seconds between requests the site asks for, if it asks. */
  crawlDelaySeconds: number | undefined;
  /**
   * Why the file could not be read (a server error, no answer): then nothing may be crawled for
   * now (RFC 9309 2.3.1.4), which says nothing about whether the pages are still there.
   */
  unreachable?: string;
}

interface Rule {
  allow: boolean;
  pattern: string;
}

/** What is read of a robots.txt: 512 KiB, above the RFC's floor of 500 KiB. */
export const ROBOTS_MAX_BYTES = 512 * 1024;
const MAX_RULE = 2048;

export const ALLOW_ALL: Robots = { allows: () => true, crawlDelaySeconds: undefined };

export function unreachableRobots(why: string): Robots {
  return { allows: () => false, crawlDelaySeconds: undefined, unreachable: why };
}

/** `text` up to its last line break: what is left of a file cut at a limit, without the cut line. */
export function wholeLines(text: string): string {
  const end = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
  return end === -1 ? '' : text.slice(0, end + 1);
}

export function parseRobots(text: string, agent = 'chatdrop'): Robots {
  const token = agent.toLowerCase();
  // Groups in file order: the agents they name, their rules. Consecutive user-agent lines share a group.
  const groups: { agents: string[]; rules: Rule[]; delay: number | undefined }[] = [];
  let current: (typeof groups)[number] | undefined;
  let lastWasAgent = false;
  // A string longer than the limit (characters are at least a byte each) is cut as the reader cuts.
  const read = text.length > ROBOTS_MAX_BYTES ? wholeLines(text.slice(0, ROBOTS_MAX_BYTES)) : text;
  for (const raw of read.split(/\r\n|\r|\n/)) {
    const hash = raw.indexOf('#');
    const line = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'user-agent') {
      if (!lastWasAgent || current === undefined) {
        current = { agents: [], rules: [], delay: undefined };
        groups.push(current);
      }
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (current === undefined) continue;
    if ((key === 'allow' || key === 'disallow') && value.length <= MAX_RULE) {
      // An empty Disallow allows everything: it is no rule at all.
      if (value !== '') current.rules.push({ allow: key === 'allow', pattern: value });
    } else if (key === 'crawl-delay') {
      const seconds = Number(value);
      if (Number.isFinite(seconds) && seconds >= 0) current.delay = seconds;
    }
  }

  const ours = groups.filter((g) => g.agents.some((a) => a === token || a.startsWith(`${token}/`)));
  const chosen = ours.length > 0 ? ours : groups.filter((g) => g.agents.includes('*'));
  const rules = chosen.flatMap((g) => g.rules);
  const delay = chosen.map((g) => g.delay).find((d) => d !== undefined);
  return {
    crawlDelaySeconds: delay,
    allows(path: string): boolean {
      let best: Rule | undefined;
      for (const rule of rules) {
        if (!matches(rule.pattern, path)) continue;
        if (best === undefined || rule.pattern.length > best.pattern.length || (rule.pattern.length === best.pattern.length && rule.allow)) {
          best = rule;
        }
      }
      return best?.allow ?? true;
    },
  };
}

/** `pattern` against a path (with its query): a prefix match, `*` any run, a final `$` the end. */
export function matches(pattern: string, path: string): boolean {
  const anchored = pattern.endsWith('$');
  const parts = (anchored ? pattern.slice(0, -1) : pattern).split('*');
  const first = parts[0] ?? '';
  if (!path.startsWith(first)) return false;
  let at = first.length;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string;
    if (anchored && i === parts.length - 1) {
      // The last segment must end the path, after what matched so far.
      return path.length - part.length >= at && path.endsWith(part);
    }
    const found = path.indexOf(part, at);
    if (found === -1) return false;
    at = found + part.length;
  }
  return anchored ? at === path.length : true;
}
