import { randomBytes } from 'node:crypto';

/**
 * 18 random bytes = 144 bits, comfortably above the contract's 128. 18 is a multiple of 3, so the
 * base64url text is exactly 24 characters with no padding: every id has the same shape, and a
 * shape check can reject junk before any lookup.
 */
const ID_BYTES = 18;
const ID_PATTERN = /^[A-Za-z0-9_-]{24}$/;

/** A fresh unguessable, URL-safe id for a conversation or a message. The id is the credential. */
export function newId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/** True when `id` has the shape `newId` produces; stores answer "not found" for anything else. */
export function isWellFormedId(id: string): boolean {
  return ID_PATTERN.test(id);
}
