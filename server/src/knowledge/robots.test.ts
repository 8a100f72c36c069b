import { describe, expect, it } from 'vitest';
import { expectLinear, repeat } from '../test/linear-time.js';
import { matches, parseRobots, ROBOTS_MAX_BYTES, wholeLines } from './robots.js';

describe('robots.txt', () => {
  it('uses the Chatdrop group when there is one, else the * group', () => {
    const robots = parseRobots('User-agent: *\nDisallow: /\n\nUser-agent: Googlebot\nUser-agent: chatdrop\nDisallow: /private\n');
    expect(robots.allows('/help')).toBe(true);
    expect(robots.allows('/private/x')).toBe(false);
    const star = parseRobots('User-agent: *\nDisallow: /admin\n\nUser-agent: OtherBot\nDisallow: /\n');
    expect(star.allows('/admin/users')).toBe(false);
    expect(star.allows('/help')).toBe(true);
  });

  it('lets the longest rule win, Allow on a tie, with * and $ (RFC 9309)', () => {
    const robots = parseRobots('User-agent: *\nDisallow: /help/\nAllow: /help/public\nDisallow: /*.pdf$\nAllow: /help/x$\nDisallow: /help/x$\n');
    expect(robots.allows('/help/secret')).toBe(false);
    expect(robots.allows('/help/public/a')).toBe(true);
    expect(robots.allows('/docs/a.pdf')).toBe(false);
    expect(robots.allows('/docs/a.pdf?download=1')).toBe(true);
    expect(robots.allows('/help/x')).toBe(true);
    expect(robots.allows('/other')).toBe(true);
  });

  it('treats an empty Disallow as no rule and reads Crawl-delay', () => {
    const robots = parseRobots('# comment\nUser-agent: *\nDisallow:\nCrawl-delay: 2.5 # seconds\n');
    expect(robots.allows('/anything')).toBe(true);
    expect(robots.crawlDelaySeconds).toBe(2.5);
  });

  it('reads no more than the limit of a string, up to its last whole line', () => {
    const filler = `# ${'x'.repeat(ROBOTS_MAX_BYTES - 40)}\n`;
    const robots = parseRobots(`User-agent: *\nDisallow: /a\n${filler}Disallow: /help/private-notes\n`);
    expect(robots.allows('/a')).toBe(false);
    // The cut falls inside the last rule: neither it nor its first half ("Disallow: /help/") is read.
    expect(robots.allows('/help/x')).toBe(true);
    expect(robots.allows('/help/private-notes')).toBe(true);
    expect(wholeLines('a\nb\rc')).toBe('a\nb\r');
    expect(wholeLines('no line break')).toBe('');
  });

  it('matches patterns segment by segment', () => {
    expect(matches('/a*b*c', '/axxbyyc')).toBe(true);
    expect(matches('/a*b*c$', '/axxbyycd')).toBe(false);
    expect(matches('/a*c$', '/abcabc')).toBe(true);
    expect(matches('/fish', '/fishheads')).toBe(true);
    expect(matches('/fish$', '/fishheads')).toBe(false);
  });

  it('parses and matches hostile files in linear time', () => {
    expectLinear('robots lines', (n) => `User-agent: *\n${repeat('Disallow: /a*a*a*a*a*b\n', n)}`, (text) => parseRobots(text).allows(`/${'a'.repeat(200)}`));
    expectLinear('robots one line', (n) => `User-agent: *\nDisallow: ${repeat('*a', n)}`, (text) => parseRobots(text).allows('/aaaa'));
    expectLinear('robots line ends of every kind', (n) => `User-agent: *\r${repeat('\r\n\r\rDisallow: /x\n', n)}`, (text) => parseRobots(text).allows('/x'));
    expectLinear('pattern against a long path', (n) => repeat('a', n), (path) => matches('/*a*a*a*b$', `/${path}`));
  });
});
