import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT, hashPassword, parsePasswordHash, verifyPassword } from './password-hash.js';
import { parseInboxUsers } from './inbox-users.js';

const CHEAP = { logN: 10, r: 8, p: 1 };

describe('password hashes', () => {
  it('encodes scrypt, its cost and a random salt in one text without commas or colons', async () => {
    const a = await hashPassword('correct horse battery staple', CHEAP);
    const b = await hashPassword('correct horse battery staple', CHEAP);
    expect(a).toMatch(/^scrypt\$ln=10\$r=8\$p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(a).not.toMatch(/[,:]/);
    expect(DEFAULT_SCRYPT).toEqual({ logN: 15, r: 8, p: 3 });
  });

  it('verifies the right password only, at the cost the hash names', async () => {
    const hash = parsePasswordHash(await hashPassword('pässwörd and more', CHEAP))!;
    expect(hash.params).toEqual(CHEAP);
    expect(await verifyPassword('pässwörd and more', hash)).toBe(true);
    // The same text in another Unicode normal form is the same password.
    expect(await verifyPassword('pässwörd and more'.normalize('NFD'), hash)).toBe(true);
    expect(await verifyPassword('passwort and more', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
    expect(await verifyPassword('x'.repeat(100_000), hash)).toBe(false);
  });

  it('keeps verifying old hashes when the default cost is raised', async () => {
    const older = parsePasswordHash(await hashPassword('the same words here', { logN: 11, r: 8, p: 2 }))!;
    expect(older.params).toEqual({ logN: 11, r: 8, p: 2 });
    expect(await verifyPassword('the same words here', older)).toBe(true);
  });

  it('refuses texts that are not such a hash, and costs out of bounds', () => {
    const salt = 'A'.repeat(22);
    const key = 'B'.repeat(43);
    for (const text of ['', 'plain', `bcrypt$ln=10$r=8$p=1$${salt}$${key}`, `scrypt$ln=10$r=8$p=1$${salt}`, `scrypt$ln=9$r=8$p=1$${salt}$${key}`, `scrypt$ln=21$r=8$p=1$${salt}$${key}`, `scrypt$ln=20$r=32$p=1$${salt}$${key}`, `scrypt$ln=10$r=8$p=0$${salt}$${key}`, `scrypt$ln=10$r=8$p=1$${salt}$${key}$`]) {
      expect(parsePasswordHash(text), text).toBeUndefined();
    }
  });
});

describe('CHATDROP_INBOX_USERS', () => {
  it('reads name:hash entries', async () => {
    const hash = await hashPassword('a long enough phrase', CHEAP);
    const users = parseInboxUsers(` alice:${hash} , bob.smith@example.com:${hash},`);
    expect([...users.keys()]).toEqual(['alice', 'bob.smith@example.com']);
  });

  it('names the entry at fault and never prints a hash', async () => {
    const hash = await hashPassword('a long enough phrase', CHEAP);
    expect(() => parseInboxUsers('')).toThrow('no name:hash entry');
    expect(() => parseInboxUsers(hash)).toThrow(/without a colon|not name:hash/);
    expect(() => parseInboxUsers(`al ice:${hash}`)).toThrow('"al ice" is not name:hash');
    expect(() => parseInboxUsers('alice:secret123')).toThrow('the hash of "alice" is not one printed by `pnpm inbox-user alice`');
    expect(() => parseInboxUsers(`alice:${hash},alice:${hash}`)).toThrow('"alice" appears twice');
    try {
      parseInboxUsers(`alice:${hash}x!`);
    } catch (error) {
      expect((error as Error).message).not.toContain(hash.slice(20));
    }
  });
});
