/** RFC 5321 limits: a path of at most 256 octets, so an address of at most 254; a local part of 64. */
export const MAX_EMAIL_LENGTH = 254;
const MAX_LOCAL_LENGTH = 64;

// One character class each, anchored, no nested quantifiers: linear on any input.
// The local part: RFC 5322's dot-atom (no quoted strings, no comments, which no visitor needs
// and which carry the characters that matter in a header: space, quotes, brackets, commas).
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
// A domain label: letters (any script, for internationalised domains), digits, hyphens.
const LABEL = /^[\p{L}\p{N}-]+$/u;

/**
 * A plausible mailbox the team can answer: `local@domain.tld`, nothing around it. Not a proof that
 * the mailbox exists (only a reply proves that), but enough that it is one address and safe in a
 * `Reply-To` header: no whitespace, control character, comma, angle bracket or quote gets through,
 * so a visitor's address cannot add a header or a second recipient.
 */
export function isPlausibleEmail(value: string): boolean {
  if (value.length > MAX_EMAIL_LENGTH) return false;
  const at = value.indexOf('@');
  if (at < 1 || at !== value.lastIndexOf('@')) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > MAX_LOCAL_LENGTH || !local.split('.').every((atom) => LOCAL.test(atom))) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  const tld = labels.at(-1) ?? '';
  return (
    tld.length >= 2 &&
    !/^\d+$/.test(tld) &&
    labels.every((label) => label.length <= 63 && LABEL.test(label) && !label.startsWith('-') && !label.endsWith('-'))
  );
}
