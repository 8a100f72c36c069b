import { readFileSync } from 'node:fs';
import { parseInboxUsers } from './inbox/inbox-users.js';
import type { PasswordHash } from './inbox/password-hash.js';

/** One entry of the model allowlist (`CHATDROP_MODELS`): the alias browsers send, the id upstream gets. */
export interface ModelEntry {
  alias: string;
  model: string;
}

/** Everything the server is configured with; built once by `parseConfig` and trusted after. */
export interface Config {
  /** Unset: the built-in offline demo model answers (see `demo-upstream.ts`). */
  openaiApiKey: string | undefined;
  /** Unset: the SDK's default, OpenAI itself. */
  openaiBaseUrl: string | undefined;
  port: number;
  /** Unset: all interfaces. */
  host: string | undefined;
  /**
   * `CHATDROP_PUBLIC_URL`: the origin visitors reach this server at (behind a proxy, the public
   * one), e.g. `https://chat.example.com`. The server's own origin comes from here, never from
   * request headers (a Host header is whatever the client sent). Default `http://localhost:PORT`.
   */
  publicOrigin: string;
  /** Unset: the server's own origin and any `http://localhost:*` / `http://127.0.0.1:*`. */
  allowedOrigins: string[] | undefined;
  /** Never empty; the first entry is the default model. */
  models: ModelEntry[];
  systemPrompt: string;
  dbPath: string;
  redisUrl: string | undefined;
  /** Chat requests per minute per client IP. */
  rateLimitPerMinute: number;
  /** Express `trust proxy`; undefined leaves Express's default (trust nothing). */
  trustProxy: boolean | number | string | undefined;
  /** How long a reply outlives its reader, waiting for a resume (`0` aborts at once). */
  resumeGraceMs: number;
  title: string;
  greeting: string;
  starters: string[];
  maxMessageChars: number;
  /** Token budget of one upstream request: system prompt + history + new message. */
  historyTokens: number;
  retentionDays: number;
  /** The SDK's own retries of 429/5xx/connection errors (issue 5: no second loop on top). */
  upstreamRetries: number;
  /** Time allowed from the request until the first chunk arrives. */
  firstTokenTimeoutMs: number;
  /** Time allowed between two chunks once the stream runs. */
  idleTimeoutMs: number;
  /** On SIGTERM/SIGINT, how long running replies may finish before they are aborted. */
  shutdownGraceMs: number;
  /** Concurrent streams one client IP may have running (`busy` past it). */
  maxStreamsPerIp: number;
  /** Visitor messages one conversation may hold (`too-large` past it). */
  maxTurns: number;
  /** Characters one conversation may store, every message counted (`too-large` past it). */
  maxConversationChars: number;
  /** Input + output tokens the whole site may spend per UTC day; undefined: no budget. */
  dailyTokenBudget: number | undefined;
  /** Fallback upstream model per alias, used when the primary fails before its first token. */
  fallbacks: ReadonlyMap<string, string>;
  /** `CHATDROP_LOG_CONTENT=1`: message text goes into the logs (debugging only). */
  logContent: boolean;
  /** `GET /metrics` answers only with `Authorization: Bearer <this>`; unset: 404. */
  metricsToken: string | undefined;
  /** `CHATDROP_SUPPORT_URL`: an `http(s):` or `mailto:` link the widget shows as "Contact us"; unset: none. */
  supportUrl: string | undefined;
  /**
   * `CHATDROP_MODEL_PICKER=1`: the widget lets visitors choose among the `models` aliases. With one
   * alias there is nothing to choose and the widget shows no picker; that is not an error, so a
   * site can turn the picker on before it adds a second model.
   */
  modelPicker: boolean;
  /**
   * `CHATDROP_INBOX_USERS`: the support team's sign-ins for `/inbox`, name to password hash
   * (`pnpm inbox-user NAME` prints an entry). Undefined: no inbox, `/inbox` and `/api/inbox` 404.
   */
  inboxUsers: ReadonlyMap<string, PasswordHash> | undefined;
}

/** A configuration mistake; the message names the variable, so the operator can fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_SYSTEM_PROMPT =
  'You are a friendly, concise help assistant on this website. Answer clearly, use short ' +
  'paragraphs or lists, and say so when you do not know something rather than guessing.';

const DEFAULT_GREETING = 'Hi! How can I help you today?';

/** In a config file, a list may be a JSON array; in the environment it is one joined string. */
const LIST_SEPARATORS: Record<string, string> = {
  ALLOWED_ORIGINS: ',',
  CHATDROP_MODELS: ',',
  CHATDROP_STARTERS: '|',
};

/**
 * Reads the environment (and the optional `CHATDROP_CONFIG` JSON file, whose keys are the same
 * variable names and which the environment overrides) into a typed `Config`.
 * Throws `ConfigError` naming the variable at fault; nothing is guessed around a mistake.
 */
export function parseConfig(env: Env): Config {
  const merged: Record<string, string | undefined> = { ...readConfigFile(env.CHATDROP_CONFIG), ...definedOnly(env) };
  const get = (name: string): string | undefined => {
    const value = merged[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  const port = integer(get('PORT'), 'PORT', 8787, 0, 65_535);
  return {
    openaiApiKey: get('OPENAI_API_KEY'),
    openaiBaseUrl: optionalUrl(get('OPENAI_BASE_URL'), 'OPENAI_BASE_URL'),
    port,
    host: get('HOST'),
    publicOrigin: publicOrigin(get('CHATDROP_PUBLIC_URL'), port),
    allowedOrigins: origins(get('ALLOWED_ORIGINS')),
    models: models(get('CHATDROP_MODELS') ?? 'fast=gpt-4.1-mini'),
    systemPrompt: systemPrompt(merged),
    dbPath: get('CHATDROP_DB') ?? './data/chatdrop.db',
    redisUrl: optionalUrl(get('REDIS_URL'), 'REDIS_URL'),
    rateLimitPerMinute: integer(get('CHATDROP_RATE_LIMIT'), 'CHATDROP_RATE_LIMIT', 20, 1, 1_000_000),
    trustProxy: trustProxy(get('TRUST_PROXY')),
    resumeGraceMs: integer(get('CHATDROP_RESUME_GRACE_MS'), 'CHATDROP_RESUME_GRACE_MS', 10_000, 0, 3_600_000),
    title: get('CHATDROP_TITLE') ?? 'Help',
    greeting: get('CHATDROP_GREETING') ?? DEFAULT_GREETING,
    starters: (get('CHATDROP_STARTERS') ?? '').split('|').map((s) => s.trim()).filter((s) => s !== ''),
    maxMessageChars: integer(get('CHATDROP_MAX_MESSAGE_CHARS'), 'CHATDROP_MAX_MESSAGE_CHARS', 4000, 1, 100_000),
    historyTokens: integer(get('CHATDROP_HISTORY_TOKENS'), 'CHATDROP_HISTORY_TOKENS', 8000, 100, 10_000_000),
    retentionDays: integer(get('CHATDROP_RETENTION_DAYS'), 'CHATDROP_RETENTION_DAYS', 30, 1, 36_500),
    upstreamRetries: integer(get('CHATDROP_UPSTREAM_RETRIES'), 'CHATDROP_UPSTREAM_RETRIES', 2, 0, 10),
    firstTokenTimeoutMs: integer(get('CHATDROP_FIRST_TOKEN_TIMEOUT_MS'), 'CHATDROP_FIRST_TOKEN_TIMEOUT_MS', 30_000, 100, 600_000),
    idleTimeoutMs: integer(get('CHATDROP_IDLE_TIMEOUT_MS'), 'CHATDROP_IDLE_TIMEOUT_MS', 30_000, 100, 600_000),
    shutdownGraceMs: integer(get('CHATDROP_SHUTDOWN_GRACE_MS'), 'CHATDROP_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    maxStreamsPerIp: integer(get('CHATDROP_MAX_STREAMS_PER_IP'), 'CHATDROP_MAX_STREAMS_PER_IP', 3, 1, 100_000),
    maxTurns: integer(get('CHATDROP_MAX_TURNS'), 'CHATDROP_MAX_TURNS', 200, 1, 100_000),
    maxConversationChars: integer(get('CHATDROP_MAX_CONVERSATION_CHARS'), 'CHATDROP_MAX_CONVERSATION_CHARS', 200_000, 1, 100_000_000),
    dailyTokenBudget: optionalInteger(get('CHATDROP_DAILY_TOKEN_BUDGET'), 'CHATDROP_DAILY_TOKEN_BUDGET', 1, 1e12),
    fallbacks: fallbacks(get('CHATDROP_FALLBACKS'), get('CHATDROP_MODELS') ?? 'fast=gpt-4.1-mini'),
    logContent: flag(get('CHATDROP_LOG_CONTENT'), 'CHATDROP_LOG_CONTENT'),
    metricsToken: metricsToken(get('CHATDROP_METRICS_TOKEN')),
    supportUrl: supportUrl(get('CHATDROP_SUPPORT_URL')),
    modelPicker: flag(get('CHATDROP_MODEL_PICKER'), 'CHATDROP_MODEL_PICKER'),
    inboxUsers: inboxUsers(get('CHATDROP_INBOX_USERS')),
  };
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

function readConfigFile(path: string | undefined): Record<string, string> {
  if (path === undefined || path.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`CHATDROP_CONFIG: cannot read ${path} as JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`CHATDROP_CONFIG: ${path} must hold a JSON object of variable names to values`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string') && key in LIST_SEPARATORS) {
      out[key] = value.join(LIST_SEPARATORS[key]);
    } else {
      throw new ConfigError(`${key} (in ${path}): expected a string, number or boolean`);
    }
  }
  return out;
}

function integer(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name}: expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name}: must be between ${min} and ${max}, got ${value}`);
  return value;
}

function optionalInteger(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  return raw === undefined || raw === '0' || raw === 'off' ? undefined : integer(raw, name, 0, min, max);
}

function flag(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new ConfigError(`${name}: expected 1 or 0, got "${raw}"`);
}

/**
 * `CHATDROP_FALLBACKS=fast=gpt-4o-mini,smart=gpt-4.1-mini`: the same `alias=model-id` form as
 * `CHATDROP_MODELS`, kept separate so that variable stays exactly the contract's form.
 */
function fallbacks(raw: string | undefined, modelsRaw: string): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  if (raw === undefined) return out;
  const aliases = new Set(models(modelsRaw).map((m) => m.alias));
  for (const pair of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const match = /^([A-Za-z0-9._-]+)\s*=\s*(\S+)$/.exec(pair);
    if (match === null) throw new ConfigError(`CHATDROP_FALLBACKS: "${pair}" is not alias=model-id`);
    const [, alias = '', model = ''] = match;
    if (!aliases.has(alias)) throw new ConfigError(`CHATDROP_FALLBACKS: "${alias}" is not an alias of CHATDROP_MODELS`);
    out.set(alias, model);
  }
  return out;
}

/** A bearer token short enough to guess is no protection; refuse it rather than serve metrics openly. */
function metricsToken(raw: string | undefined): string | undefined {
  if (raw !== undefined && raw.length < 16) throw new ConfigError('CHATDROP_METRICS_TOKEN: use at least 16 characters');
  return raw;
}

/**
 * The widget puts this link on every host page, so only the schemes its own link check passes
 * (widget/src/safe-href.ts): refuse anything else here, at start-up, rather than have the widget
 * drop the link without a word. A bare address gets a hint instead of a guess.
 */
function supportUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  const bad =
    url === undefined ||
    !['http:', 'https:', 'mailto:'].includes(url.protocol) ||
    (url.protocol === 'mailto:' && !/^[^@\s]+@[^@\s]+/.test(url.pathname)) ||
    /[\s\0-\x1f\x7f]/.test(raw);
  if (bad) {
    const hint = /^[^\s@/:]+@[^\s@/]+$/.test(raw) ? ` (for an e-mail address write mailto:${raw})` : '';
    throw new ConfigError(`CHATDROP_SUPPORT_URL: expected an http(s):// URL or a mailto: address, got "${raw}"${hint}`);
  }
  return raw;
}

function inboxUsers(raw: string | undefined): Config['inboxUsers'] {
  if (raw === undefined) return undefined;
  try {
    return parseInboxUsers(raw);
  } catch (error) {
    throw new ConfigError(`CHATDROP_INBOX_USERS: ${(error as Error).message}`);
  }
}

function optionalUrl(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined) return undefined;
  if (!URL.canParse(raw)) throw new ConfigError(`${name}: not a valid URL: "${raw}"`);
  return raw;
}

/** A URL with nothing after its origin (a trailing `/` is allowed); its origin is what counts. */
function publicOrigin(raw: string | undefined, port: number): string {
  if (raw === undefined) return `http://localhost:${port}`;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ConfigError(`CHATDROP_PUBLIC_URL: "${raw}" is not an origin like https://chat.example.com`);
  }
  return url.origin;
}

function origins(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const origin of list) {
    // An origin is scheme://host[:port] with nothing after it; a path or trailing slash never
    // matches a browser's Origin header, so refuse it rather than let CORS fail silently.
    const parsed = URL.canParse(origin) ? new URL(origin) : undefined;
    if (parsed === undefined || parsed.origin !== origin) {
      throw new ConfigError(`ALLOWED_ORIGINS: "${origin}" is not an origin like https://www.example.com`);
    }
  }
  return list;
}

function models(raw: string): ModelEntry[] {
  const entries: ModelEntry[] = [];
  for (const pair of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const match = /^([A-Za-z0-9._-]+)\s*=\s*(\S+)$/.exec(pair);
    if (match === null) {
      throw new ConfigError(`CHATDROP_MODELS: "${pair}" is not alias=model-id (alias: letters, digits, . _ -)`);
    }
    const [, alias = '', model = ''] = match;
    if (entries.some((e) => e.alias === alias)) throw new ConfigError(`CHATDROP_MODELS: alias "${alias}" appears twice`);
    entries.push({ alias, model });
  }
  if (entries.length === 0) throw new ConfigError('CHATDROP_MODELS: needs at least one alias=model-id pair');
  return entries;
}

function systemPrompt(merged: Record<string, string | undefined>): string {
  const inline = merged.CHATDROP_SYSTEM_PROMPT;
  if (inline !== undefined && inline.trim() !== '') return inline;
  const file = merged.CHATDROP_SYSTEM_PROMPT_FILE?.trim();
  if (file === undefined || file === '') return DEFAULT_SYSTEM_PROMPT;
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (text === '') throw new Error('the file is empty');
    return text;
  } catch (error) {
    throw new ConfigError(`CHATDROP_SYSTEM_PROMPT_FILE: cannot read ${file} (${(error as Error).message})`);
  }
}

function trustProxy(raw: string | undefined): Config['trustProxy'] {
  if (raw === undefined) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  // Anything else is one of Express's forms: "loopback", "10.0.0.0/8, uniquelocal", ...
  return raw;
}
