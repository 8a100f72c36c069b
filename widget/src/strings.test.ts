import { describe, expect, it } from 'vitest';
import { fill, pickLocale } from './strings.js';

describe('strings', () => {
  it('uses the contract English names by default', () => {
    const { t, dir, lang } = pickLocale(undefined);
    expect([lang, dir]).toEqual(['en', 'ltr']);
    expect([t.open, t.close, t.message, t.send, t.stop, t.newConversation]).toEqual(['Open chat', 'Close chat', 'Message', 'Send', 'Stop', 'New conversation']);
  });

  it('picks Spanish and Arabic by primary subtag; Arabic is right to left', () => {
    expect(pickLocale('es-MX').t.send).toBe('Enviar');
    const ar = pickLocale('ar-EG');
    expect([ar.lang, ar.dir, ar.t.send]).toEqual(['ar', 'rtl', 'إرسال']);
  });

  it('falls back to English for languages without a table', () => {
    expect(pickLocale('xx').t.send).toBe('Send');
    expect(pickLocale('he').dir).toBe('ltr'); // no Hebrew table yet: English text reads left to right
    for (const odd of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(pickLocale(odd)).toMatchObject({ lang: 'en', t: { send: 'Send' } });
  });

  it('translates every string in every language', () => {
    const en = pickLocale('en').t;
    for (const tag of ['es', 'ar']) {
      const t = pickLocale(tag).t;
      expect(Object.keys(t).sort()).toEqual(Object.keys(en).sort());
      for (const key of Object.keys(en) as (keyof typeof en)[]) {
        expect(t[key], `${tag}.${key}`).toBeTruthy();
        if (!['demo', 'title'].includes(key)) expect(t[key], `${tag}.${key} is translated`).not.toBe(en[key]);
      }
    }
  });

  it('fills placeholders', () => {
    expect(fill(pickLocale('en').t.retryIn, { s: 30 })).toBe('Too many messages. Try again in 30 s.');
  });
});
