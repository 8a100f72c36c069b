import type { Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';

/**
 * How many leading bits of an IPv6 address name one visitor. One subscriber usually holds a
 * whole /64 (often a /56) and can pick any address in it, so counting exact addresses would
 * let one visitor take a fresh limit per address. /56 is express-rate-limit's own default and
 * covers every /64 inside it.
 */
export const CLIENT_IPV6_PREFIX = 56;

/**
 * The key every per-visitor limit counts under (requests per minute, concurrent streams,
 * resumes, hand-offs, sign-in attempts): the IPv4 address, or the IPv6 address's /56 network
 * (an IPv4-mapped IPv6 address counts as its IPv4 address). `req.ip` is the client behind a
 * proxy only as far as `TRUST_PROXY` says which hops to trust.
 */
export function clientKey(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown', CLIENT_IPV6_PREFIX);
}
