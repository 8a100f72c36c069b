import { z } from 'zod';
import type { ChatRequest } from '@chatdrop/shared';
import { ApiError } from '../http/api-error.js';

/**
 * The body of `POST /api/chat`, checked once at the edge. Unknown fields (roles, a system
 * prompt, history) are dropped here and never reach upstream: the server keeps the conversation.
 */
/** The longest page address accepted; a longer one is a visitor's mistake (400), not data. */
const MAX_PAGE_CHARS = 2048;

const chatRequestSchema = z.object({
  conversationId: z.string().max(200).optional(),
  message: z.string(),
  model: z.string().max(200).optional(),
  page: z.string().max(MAX_PAGE_CHARS).optional(),
});

export interface ChatRequestLimits {
  maxMessageChars: number;
  /** The aliases a visitor may ask for; the first is the default. */
  modelAliases: readonly string[];
  /**
   * False without the model picker: the `model` field is checked for shape but otherwise ignored,
   * and the default alias answers (contract: the alias is honoured only where the site shows a
   * picker). A widget loaded before the owner turned the picker off keeps working.
   */
  modelChoice: boolean;
}

/** A validated chat request: the message cleaned, the model alias resolved to one we serve. */
export interface ValidChatRequest {
  conversationId: string | undefined;
  message: string;
  modelAlias: string;
  /** The visitor's page as `origin + path` (no query, fragment or credentials); undefined when not http(s). */
  page: string | undefined;
}

/**
 * C0 control characters other than tab, LF and CR, plus DEL: invisible, meaningless in a chat
 * message, and a way to smuggle odd bytes into logs and the model's input (issue 5).
 */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/** Half of a surrogate pair with no other half: not text, and not valid UTF-8 on the way out. */
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Parses an untrusted body into a `ValidChatRequest`, or throws the contract's 4xx `ApiError`. */
export function parseChatRequest(body: unknown, limits: ChatRequestLimits): ValidChatRequest {
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path[0];
    throw new ApiError(
      'bad-request',
      400,
      field === 'message' || field === undefined
        ? 'Please send a message as text.'
        : `The field "${String(field)}" is not valid.`,
    );
  }
  const request: ChatRequest = parsed.data;
  // Lone surrogates would become U+FFFD on the way out anyway; doing it here keeps what we
  // store, count and send identical.
  const message = request.message.replace(LONE_SURROGATES, '\uFFFD').replace(CONTROL_CHARACTERS, '').trim();
  if (message === '') throw new ApiError('bad-request', 400, 'Please type a message.');
  // Code points, as a visitor counts characters (an emoji is one, not two).
  let length = 0;
  for (const _ of message) if (++length > limits.maxMessageChars) break;
  if (length > limits.maxMessageChars) {
    throw new ApiError('too-large', 413, `Your message is too long. Please keep it under ${limits.maxMessageChars} characters.`);
  }
  const modelAlias = (limits.modelChoice ? request.model : undefined) ?? limits.modelAliases[0];
  if (modelAlias === undefined || !limits.modelAliases.includes(modelAlias)) {
    throw new ApiError('unknown-model', 400, 'That model is not available here.');
  }
  return { conversationId: request.conversationId, message, modelAlias, page: pageOf(request.page) };
}

/**
 * The page as stored: its origin and path only. A query string or fragment may carry a visitor's
 * tokens or search terms, and credentials in a URL are secrets; none of it is kept. A page that
 * is not an http(s) URL (a `file:` page, junk) is simply not recorded: the chat still works.
 */
function pageOf(raw: string | undefined): string | undefined {
  if (raw === undefined || !URL.canParse(raw)) return undefined;
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return url.origin + url.pathname;
}
