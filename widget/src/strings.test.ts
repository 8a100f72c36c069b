import { describe, expect, it } from 'vitest';
import ar from './strings-ar.js';
import es from './strings-es.js';
import { en, fill, LAUNCHER, localeOf, pickLanguage } from './strings.js';

describe('strings', () => {
  it('uses the contract English names by default', () => {
    const { t, dir, lang } = localeOf(pickLanguage(undefined));
    expect([lang, dir]).toEqual(['en', 'ltr']);
    expect(LAUNCHER.en).toEqual(['Open chat', 'Close chat']);
    expect([t.message, t.send, t.stop, t.newConversation]).toEqual(['Message', 'Send', 'Stop', 'New conversation']);
  });

  it('picks Spanish and Arabic by primary subtag; Arabic is right to left', () => {
    expect(pickLanguage('es-MX')).toBe('es');
    expect(localeOf('es', es).t.send).toBe('Enviar');
    const locale = localeOf(pickLanguage('ar-EG'), ar);
    expect([locale.lang, locale.dir, locale.t.send]).toEqual(['ar', 'rtl', 'إرسال']);
    expect(LAUNCHER[pickLanguage('ar_EG')]).toEqual(['فتح المحادثة', 'إغلاق المحادثة']);
  });

  it('falls back to English for languages without a table', () => {
    expect(pickLanguage('xx')).toBe('en');
    expect(localeOf(pickLanguage('he')).dir).toBe('ltr'); // no Hebrew table yet: English text reads left to right
    for (const odd of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(pickLanguage(odd)).toBe('en');
  });

  it('translates every string in every language, the launcher\'s names too', () => {
    expect(Object.keys(LAUNCHER).sort()).toEqual(['ar', 'en', 'es']);
    for (const [tag, t] of [['es', es], ['ar', ar]] as const) {
      expect(Object.keys(t).sort()).toEqual(Object.keys(en).sort());
      for (const key of Object.keys(en) as (keyof typeof en)[]) {
        expect(t[key], `${tag}.${key}`).toBeTruthy();
        if (!['demo', 'title'].includes(key)) expect(t[key], `${tag}.${key} is translated`).not.toBe(en[key]);
      }
      LAUNCHER[tag]!.forEach((name, i) => expect(name, `${tag} launcher name ${i}`).not.toBe(LAUNCHER.en![i]));
    }
  });

  it('fills placeholders', () => {
    expect(fill(en.retryIn, { s: 30 })).toBe('Too many messages. Try again in 30 s.');
  });
});
