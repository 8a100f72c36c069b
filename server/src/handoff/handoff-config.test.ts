import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config.js';
import { isPlausibleEmail } from './email-address.js';

describe('hand-off configuration', () => {
  it('is off without a channel', () => {
    expect(parseConfig({}).handoff).toBeUndefined();
  });

  it('reads a signed webhook and an email channel', () => {
    const config = parseConfig({
      CHATDROP_HANDOFF_WEBHOOK: 'https://hooks.example.com/chatdrop',
      CHATDROP_HANDOFF_WEBHOOK_SECRET: 'a-secret-of-enough-length',
      CHATDROP_HANDOFF_SMTP: 'smtps://user:pw@smtp.example.com',
      CHATDROP_HANDOFF_EMAIL_TO: 'team@example.com, lead@example.com',
    });
    expect(config.handoff).toEqual({
      webhook: { url: 'https://hooks.example.com/chatdrop', secret: 'a-secret-of-enough-length' },
      email: {
        smtpUrl: 'smtps://user:pw@smtp.example.com',
        to: ['team@example.com', 'lead@example.com'],
        from: { name: 'Chatdrop', address: 'team@example.com' },
      },
      perAddressPerHour: 10,
    });
    expect(parseConfig({ CHATDROP_HANDOFF_WEBHOOK: 'http://127.0.0.1:9/x', CHATDROP_HANDOFF_RATE_LIMIT: '3' }).handoff?.perAddressPerHour).toBe(3);
  });

  it('takes a From address with or without a name', () => {
    const base = { CHATDROP_HANDOFF_SMTP: 'smtp://127.0.0.1:2525', CHATDROP_HANDOFF_EMAIL_TO: 'team@example.com' };
    expect(parseConfig({ ...base, CHATDROP_HANDOFF_EMAIL_FROM: 'Example Help <help@example.com>' }).handoff?.email?.from).toEqual({
      name: 'Example Help',
      address: 'help@example.com',
    });
    expect(parseConfig({ ...base, CHATDROP_HANDOFF_EMAIL_FROM: 'help@example.com' }).handoff?.email?.from).toEqual({
      name: 'Chatdrop',
      address: 'help@example.com',
    });
  });

  it.each([
    [{ CHATDROP_HANDOFF_WEBHOOK: 'ftp://example.com/x' }, 'CHATDROP_HANDOFF_WEBHOOK'],
    [{ CHATDROP_HANDOFF_WEBHOOK: 'not a url' }, 'CHATDROP_HANDOFF_WEBHOOK'],
    [{ CHATDROP_HANDOFF_WEBHOOK_SECRET: 'a-secret-of-enough-length' }, 'CHATDROP_HANDOFF_WEBHOOK_SECRET'],
    [{ CHATDROP_HANDOFF_WEBHOOK: 'https://h.example', CHATDROP_HANDOFF_WEBHOOK_SECRET: 'short' }, 'CHATDROP_HANDOFF_WEBHOOK_SECRET'],
    [{ CHATDROP_HANDOFF_SMTP: 'smtp://127.0.0.1:25' }, 'CHATDROP_HANDOFF_EMAIL_TO'],
    [{ CHATDROP_HANDOFF_EMAIL_TO: 'team@example.com' }, 'CHATDROP_HANDOFF_SMTP'],
    [{ CHATDROP_HANDOFF_SMTP: 'http://mail.example.com', CHATDROP_HANDOFF_EMAIL_TO: 'team@example.com' }, 'CHATDROP_HANDOFF_SMTP'],
    [{ CHATDROP_HANDOFF_SMTP: 'smtp://127.0.0.1:25', CHATDROP_HANDOFF_EMAIL_TO: 'team' }, 'CHATDROP_HANDOFF_EMAIL_TO'],
    [{ CHATDROP_HANDOFF_SMTP: 'smtp://127.0.0.1:25', CHATDROP_HANDOFF_EMAIL_TO: 'a@example.com', CHATDROP_HANDOFF_EMAIL_FROM: 'Bad\nName <x@example.com>' }, 'CHATDROP_HANDOFF_EMAIL_FROM'],
    [{ CHATDROP_HANDOFF_EMAIL_FROM: 'x@example.com' }, 'CHATDROP_HANDOFF_EMAIL_FROM'],
    [{ CHATDROP_HANDOFF_WEBHOOK: 'https://h.example', CHATDROP_HANDOFF_RATE_LIMIT: '0' }, 'CHATDROP_HANDOFF_RATE_LIMIT'],
    [{ CHATDROP_HANDOFF_WEBHOOK: 'https://h.example', CHATDROP_HANDOFF_RATE_LIMIT: 'lots' }, 'CHATDROP_HANDOFF_RATE_LIMIT'],
  ])('refuses %j naming %s', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(name);
  });

  it('never repeats the SMTP password in its message', () => {
    expect(() => parseConfig({ CHATDROP_HANDOFF_SMTP: 'http://user:hunter2-secret@mail.example.com', CHATDROP_HANDOFF_EMAIL_TO: 'a@example.com' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });
});

describe('isPlausibleEmail', () => {
  it.each(['visitor@example.com', 'first.last+tag@sub.example.co.uk', "o'neil@example.ie", 'jo@bücher.de', 'x@xn--bcher-kva.de'])('accepts %s', (email) => {
    expect(isPlausibleEmail(email)).toBe(true);
  });

  it.each([
    '',
    'visitor',
    'visitor@',
    '@example.com',
    'visitor@localhost',
    'visitor@example.c',
    'a@b@example.com',
    '.a@example.com',
    'a..b@example.com',
    'a@-example.com',
    'a@example..com',
    'a b@example.com',
    'visitor@example.com\r\nBcc: evil@example.com',
    'visitor@example.com, evil@example.com',
    'Visitor <visitor@example.com>',
    '"quoted"@example.com',
    'visitor@127.0.0.1',
    `${'a'.repeat(65)}@example.com`,
    `a@${'b'.repeat(250)}.com`,
  ])('refuses %j', (email) => {
    expect(isPlausibleEmail(email)).toBe(false);
  });

  it('answers long hostile input without backtracking (the test timeout is the bound)', () => {
    // The length check comes first, and each pattern is one anchored character class: at 1k, 10k
    // and 100k characters, and at the longest length that reaches the patterns, each call is one pass.
    for (const n of [1_000, 10_000, 100_000, 250]) {
      const half = Math.floor(n / 2);
      for (const input of ['a'.repeat(n), `${'a.'.repeat(half)}@x`, `a@${'a-'.repeat(half)}`, `${'!'.repeat(half)}@${'b'.repeat(half)}.-`]) {
        expect(isPlausibleEmail(input)).toBe(false);
      }
    }
  });
});
