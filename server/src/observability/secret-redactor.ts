/**
 * Keeps secrets out of log lines and error details.
 *
 * Two nets. The first is the configured secrets themselves (the upstream API key), matched as
 * literal strings, whatever their shape: OpenAI's `sk-...`, Groq's `gsk_...`, Google's `AIza...`,
 * or a random string a self-hosted server was given. An upstream that rejects a key often quotes
 * it back in its 401 ("Incorrect API key provided: ..."), and that message travels in error
 * details into the log. The second net is a pattern for well-known key shapes, for a key that is
 * not the configured one (a fallback's, one pasted into a message by mistake).
 *
 * Literal matching is `String.prototype.split`/`join`: linear in the text, no pattern built from
 * the secret (which could hold regex metacharacters).
 */
export class SecretRedactor {
  /** The forms each secret may take in a line, longest first so a longer form is replaced whole. */
  #needles: string[] = [];

  /**
   * Adds a secret. A JSON log line holds it escaped (once, or twice when an error message that
   * was itself JSON is logged), so those forms are added too. Shorter than `MIN_SECRET_LENGTH`
   * is a placeholder (`OPENAI_API_KEY=none` for a local server), not a secret: redacting every
   * `none` would only garble the logs.
   */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) return;
    const once = JSON.stringify(secret).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    const needles = new Set([...this.#needles, secret, once, twice]);
    this.#needles = [...needles].sort((a, b) => b.length - a.length);
  }

  /** `text` with every configured secret and every key-shaped string replaced. */
  redact(text: string): string {
    let out = text;
    for (const needle of this.#needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    return redactKeyShapes(out);
  }
}

export const REDACTED = '[redacted]';
export const MIN_SECRET_LENGTH = 8;

/**
 * Well-known API key shapes: OpenAI and compatible (`sk-`, `rk-`, `pk-`, also `sk-proj-`,
 * `sk-ant-`), Groq (`gsk_`), xAI (`xai-`), Google (`AIza`). The prefix stays, so a log still says
 * which kind of key was involved. Every branch is a prefix then one bounded character class: linear.
 */
const KEY_SHAPED = /\b(sk-|rk-|pk-|gsk_|xai-|AIza)[A-Za-z0-9_*-]{6,}/g;

export function redactKeyShapes(text: string): string {
  return text.replace(KEY_SHAPED, (_match, prefix: string) => `${prefix}${REDACTED}`);
}
