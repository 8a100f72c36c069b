import { ConfigError, integer } from '../config.js';
import { isPlausibleEmail } from './email-address.js';

/** Hand-off requests one address may make per hour: a visitor asks once or twice, not more. */
export const DEFAULT_PER_ADDRESS_PER_HOUR = 10;

/** Where hand-offs go; built by `parseHandoffConfig`, undefined when no channel is configured. */
export interface HandoffConfig {
  /** `CHATDROP_HANDOFF_WEBHOOK`, signed with `CHATDROP_HANDOFF_WEBHOOK_SECRET` when set. */
  webhook: { url: string; secret: string | undefined } | undefined;
  /**
   * `CHATDROP_HANDOFF_SMTP` (an `smtp://` or `smtps://` URL, credentials in it) to
   * `CHATDROP_HANDOFF_EMAIL_TO`, from `CHATDROP_HANDOFF_EMAIL_FROM` (default: the first team address).
   */
  email: { smtpUrl: string; to: string[]; from: { name: string; address: string } } | undefined;
  /** `CHATDROP_HANDOFF_RATE_LIMIT`: hand-off requests per hour per client address. */
  perAddressPerHour: number;
}

/**
 * Reads the hand-off variables. Each mistake names its variable (a half-configured channel is a
 * mistake, not "off": an operator who set the SMTP server and forgot the address would otherwise
 * believe hand-offs reach them). Secrets and URLs with credentials are never repeated in a message.
 */
export function parseHandoffConfig(get: (name: string) => string | undefined): HandoffConfig | undefined {
  const webhookUrl = get('CHATDROP_HANDOFF_WEBHOOK');
  const secret = get('CHATDROP_HANDOFF_WEBHOOK_SECRET');
  const smtpUrl = get('CHATDROP_HANDOFF_SMTP');
  const to = get('CHATDROP_HANDOFF_EMAIL_TO');
  const from = get('CHATDROP_HANDOFF_EMAIL_FROM');
  const perAddressPerHour = integer(get('CHATDROP_HANDOFF_RATE_LIMIT'), 'CHATDROP_HANDOFF_RATE_LIMIT', DEFAULT_PER_ADDRESS_PER_HOUR, 1, 1_000_000);

  if (webhookUrl !== undefined && !hasScheme(webhookUrl, ['http:', 'https:'])) {
    throw new ConfigError('CHATDROP_HANDOFF_WEBHOOK: expected an http:// or https:// URL');
  }
  if (secret !== undefined && webhookUrl === undefined) {
    throw new ConfigError('CHATDROP_HANDOFF_WEBHOOK_SECRET is set but CHATDROP_HANDOFF_WEBHOOK is not');
  }
  // A short secret can be found by trying; refuse it rather than sign with it.
  if (secret !== undefined && secret.length < 16) {
    throw new ConfigError('CHATDROP_HANDOFF_WEBHOOK_SECRET: use at least 16 characters');
  }
  if (smtpUrl !== undefined && !hasScheme(smtpUrl, ['smtp:', 'smtps:'])) {
    throw new ConfigError('CHATDROP_HANDOFF_SMTP: expected an smtp:// or smtps:// URL, e.g. smtps://user:password@smtp.example.com');
  }
  if ((smtpUrl === undefined) !== (to === undefined)) {
    throw new ConfigError('CHATDROP_HANDOFF_SMTP and CHATDROP_HANDOFF_EMAIL_TO go together: set both, or neither');
  }
  if (from !== undefined && smtpUrl === undefined) {
    throw new ConfigError('CHATDROP_HANDOFF_EMAIL_FROM is set but CHATDROP_HANDOFF_SMTP is not');
  }

  let email: HandoffConfig['email'];
  if (smtpUrl !== undefined && to !== undefined) {
    const team = to.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = team.find((address) => !isPlausibleEmail(address));
    if (team.length === 0 || bad !== undefined) {
      throw new ConfigError(`CHATDROP_HANDOFF_EMAIL_TO: expected comma-separated addresses like team@example.com${bad === undefined ? '' : `, got "${bad}"`}`);
    }
    email = { smtpUrl, to: team, from: sender(from, team[0] as string) };
  }
  if (webhookUrl === undefined && email === undefined) return undefined;
  return {
    webhook: webhookUrl === undefined ? undefined : { url: webhookUrl, secret },
    email,
    perAddressPerHour,
  };
}

function hasScheme(raw: string, schemes: string[]): boolean {
  return URL.canParse(raw) && schemes.includes(new URL(raw).protocol);
}

/** `team@example.com` or `Example Support <team@example.com>`; default: the first team address, named Chatdrop. */
function sender(raw: string | undefined, fallback: string): { name: string; address: string } {
  if (raw === undefined) return { name: 'Chatdrop', address: fallback };
  const open = raw.lastIndexOf('<');
  const named = open >= 0 && raw.endsWith('>');
  const address = named ? raw.slice(open + 1, -1).trim() : raw;
  const name = named ? raw.slice(0, open).trim().replace(/^"|"$/g, '') : 'Chatdrop';
  if (!isPlausibleEmail(address) || /[\0-\x1f\x7f<>"]/.test(name)) {
    throw new ConfigError(`CHATDROP_HANDOFF_EMAIL_FROM: expected team@example.com or Name <team@example.com>, got "${raw}"`);
  }
  return { name: name || 'Chatdrop', address };
}
