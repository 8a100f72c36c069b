import { z } from 'zod';
import { ApiError } from '../http/api-error.js';
import { CURSOR_PATTERN, type InboxFilter } from '../store/inbox-query.js';

/** A date (`2030-01-07`, midnight UTC) or an instant with its zone (`2030-01-07T08:00:00.000Z`). */
const INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

const instant = z
  .string()
  .regex(INSTANT)
  .transform((text, ctx) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) ctx.addIssue({ code: 'custom', message: 'not a date' });
    return ms;
  });

const filterSchema = z.object({
  q: z.string().max(500).optional(),
  rating: z.enum(['up', 'down']).optional(),
  problem: z.enum(['failed', 'incomplete']).optional(),
  model: z.string().max(200).optional(),
  page: z.string().max(2048).optional(),
  from: instant.optional(),
  to: instant.optional(),
  handoff: z.literal('1').optional(),
});

const listSchema = filterSchema.extend({
  cursor: z.string().regex(CURSOR_PATTERN).optional(),
  limit: z.string().regex(/^\d{1,3}$/).transform(Number).pipe(z.number().min(1).max(200)).optional(),
});

/** The filter as the store takes it, plus whether only conversations with a hand-off are wanted. */
export interface ParsedFilter {
  filter: InboxFilter;
  handoff: boolean;
}

/**
 * The inbox's query string (the same names the inbox page keeps in its own URL), checked once at
 * the edge. Empty values count as absent, so a form can send every field. Anything else that is
 * not exactly one of these fields' shapes is a 400 naming the field.
 */
export function parseFilter(query: unknown): ParsedFilter {
  return toFilter(parse(filterSchema, query));
}

export function parseListQuery(query: unknown): ParsedFilter & { cursor: string | undefined; limit: number } {
  const parsed = parse(listSchema, query);
  return { ...toFilter(parsed), cursor: parsed.cursor, limit: parsed.limit ?? 50 };
}

function parse<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const present = Object.fromEntries(Object.entries((query ?? {}) as Record<string, unknown>).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? 'query');
    throw new ApiError('bad-request', 400, `The filter "${field}" is not valid.`);
  }
  return parsed.data;
}

function toFilter(parsed: z.infer<typeof filterSchema>): ParsedFilter {
  const filter: InboxFilter = {};
  if (parsed.q !== undefined) filter.text = parsed.q;
  if (parsed.rating !== undefined) filter.rating = parsed.rating;
  if (parsed.problem !== undefined) filter.problem = parsed.problem;
  if (parsed.model !== undefined) filter.model = parsed.model;
  if (parsed.page !== undefined) filter.page = parsed.page;
  if (parsed.from !== undefined) filter.from = parsed.from;
  if (parsed.to !== undefined) filter.to = parsed.to;
  return { filter, handoff: parsed.handoff === '1' };
}
