/**
 * robots.txt as RFC 9309 reads it, for one user agent: the group naming our product token
 * (`Chatdrop`, case-insensitive) or else the `*` group; the longest matching Allow/Disallow path
 * wins, Allow on a tie; `*` matches any run of characters and a final `$` anchors the end.
 * `Crawl-delay` (not in the RFC, widely used) is read too.
 *
 * Hostile input: the file is cut at `MAX_BYTES` (the RFC's 500 KiB floor), parsed line by line
 * with no regex that can backtrack, and a pattern is matched segment by segment with `indexOf`
 * (greedy leftmost matching is exact for `*`-only globs), so a check is linear in the path and
 * the rules.
 */
export interface Robots {
  allows(path: string): boolean;
  /** Seconds between requests the site asks for, if it asks. */
  crawlDelaySeconds: number | undefined;
}

interface Rule {
  allow: boolean;
  pattern: string;
}

const MAX_BYTES = 500 * 1024;
const MAX_RULE = 2048;

export const ALLOW_ALL: Robots = { allows: () => true, crawlDelaySeconds: undefined };
export const DISALLOW_ALL: Robots = { allows: () => false, crawlDelaySeconds: undefined };

export function parseRobots(text: string, agent = 'chatdrop'): Robots {
  const token = agent.toLowerCase();
  // Groups in file order: the agents they name, their rules. Consecutive user-agent lines share a group.
  const groups: { agents: string[]; rules: Rule[]; delay: number | undefined }[] = [];
  let current: (typeof groups)[number] | undefined;
  let lastWasAgent = false;
  for (const raw of text.slice(0, MAX_BYTES).split('\n')) {
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
