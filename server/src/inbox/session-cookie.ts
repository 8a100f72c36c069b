/**
 * The inbox's session cookie. HttpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it), Path=/api/inbox (it goes nowhere else, not even to the inbox page), Secure with the
 * `__Secure-` prefix when the public origin is https. Max-Age is the absolute lifetime; the server
 * enforces the idle one itself.
 */
export interface SessionCookie {
  name: string;
  set(id: string, maxAgeSeconds: number): string;
  clear(): string;
  /** The session id in a Cookie header, when it has one of the right shape. */
  read(header: string | undefined): string | undefined;
}

export const SESSION_PATH = '/api/inbox';
/** 32 random bytes, base64url. */
const ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function sessionCookie(secure: boolean): SessionCookie {
  const name = secure ? '__Secure-chatdrop-inbox' : 'chatdrop-inbox';
  const attributes = `Path=${SESSION_PATH}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  return {
    name,
    set: (id, maxAgeSeconds) => `${name}=${id}; Max-Age=${maxAgeSeconds}; ${attributes}`,
    clear: () => `${name}=; Max-Age=0; ${attributes}`,
    read(header) {
      if (header === undefined) return undefined;
      // Linear: one split, one trim per pair; the first cookie of our name wins (RFC 6265 5.4).
      for (const pair of header.split(';')) {
        const eq = pair.indexOf('=');
        if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
        const value = pair.slice(eq + 1).trim();
        return ID_SHAPE.test(value) ? value : undefined;
      }
      return undefined;
    },
  };
}
