import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseHandoffConfig, type HandoffConfig } from './handoff/handoff-config.js';
import type { KnowledgeSource } from './knowledge/knowledge-source.js';
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
  /** `CHATDROP_READ_RATE_LIMIT`: conversation reads (`GET /api/conversations/:id`) per minute per client. */
  readRateLimitPerMinute: number;
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
  /** `CHATDROP_MAX_OUTPUT_TOKENS`: the output-token cap of every upstream request (`outputCap` per alias). */
  maxOutputTokens: number;
  /** Aliases whose cap differs from `maxOutputTokens` (`CHATDROP_MAX_OUTPUT_TOKENS=1024,smart=4096`). */
  maxOutputTokensPerAlias: ReadonlyMap<string, number>;
  /** The request field that carries the cap (`CHATDROP_MAX_TOKENS_FIELD`; see `maxTokensField`). */
  maxTokensField: MaxTokensField;
  /** Hand-off channels (webhook, email); undefined when none is configured: no "Talk to a person". */
  handoff: HandoffConfig | undefined;
  /** `CHATDROP_KNOWLEDGE`: the sources answers are grounded in; empty: no retrieval. */
  knowledge: KnowledgeSource[];
  /** `CHATDROP_KNOWLEDGE_MAX_PAGES`: pages one crawl may index, all sources together. */
  knowledgeMaxPages: number;
  /** `CHATDROP_KNOWLEDGE_REFRESH_HOURS`: how often the index is crawled again. */
  knowledgeRefreshHours: number;
  /** `CHATDROP_KNOWLEDGE_TOKENS`: the most tokens of passages one request carries. */
  knowledgeTokens: number;
  /** `CHATDROP_KNOWLEDGE_WORKERS`: worker threads that extract crawled pages (at most cores - 1). */
  knowledgeWorkers: number;
  /** `CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS`: the longest one page's extraction may take before it is given up. */
  knowledgeExtractTimeoutMs: number;
  /** `CHATDROP_EMBEDDINGS_MODEL`: the upstream's embeddings model, combined with BM25; unset: BM25 alone. */
  embeddingsModel: string | undefined;
  /**
   * `CHATDROP_INBOX_USERS`: the support team's sign-ins for `/inbox`, name to password hash
   * (`pnpm inbox-user NAME` prints an entry). Undefined: no inbox, `/inbox` and `/api/inbox` 404.
   */
  inboxUsers: ReadonlyMap<string, PasswordHash> | undefined;
}

/** The two names of the output-token cap in Chat Completions requests. */
export type MaxTokensField = 'max_completion_tokens' | 'max_tokens';

/** The output-token cap for one alias's replies. */
export function outputCap(config: Pick<Config, 'maxOutputTokens' | 'maxOutputTokensPerAlias'>, alias: string): number {
  return config.maxOutputTokensPerAlias.get(alias) ?? config.maxOutputTokens;
}

/**
 * The aliases a visitor may ask for: all of them with `CHATDROP_MODEL_PICKER=1`, otherwise only the
 * default. `/api/config`, `/api/models` and `POST /api/chat` all go by this one list.
 */
export function visitorModels(config: Pick<Config, 'models' | 'modelPicker'>): ModelEntry[] {
  return config.modelPicker ? config.models : config.models.slice(0, 1);
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
  const origin = publicOrigin(get('CHATDROP_PUBLIC_URL'), port);
  const modelList = models(get('CHATDROP_MODELS') ?? 'fast=gpt-4.1-mini');
  const aliases = new Set(modelList.map((m) => m.alias));
  return {
    openaiApiKey: get('OPENAI_API_KEY'),
    openaiBaseUrl: optionalUrl(get('OPENAI_BASE_URL'), 'OPENAI_BASE_URL'),
    port,
    host: get('HOST'),
    publicOrigin: origin,
    allowedOrigins: origins(get('ALLOWED_ORIGINS')),
    models: modelList,
    systemPrompt: systemPrompt(merged),
    dbPath: get('CHATDROP_DB') ?? './data/chatdrop.db',
    redisUrl: optionalUrl(get('REDIS_URL'), 'REDIS_URL'),
    rateLimitPerMinute: integer(get('CHATDROP_RATE_LIMIT'), 'CHATDROP_RATE_LIMIT', 20, 1, 1_000_000),
    readRateLimitPerMinute: integer(get('CHATDROP_READ_RATE_LIMIT'), 'CHATDROP_READ_RATE_LIMIT', 300, 1, 1_000_000),
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
    fallbacks: fallbacks(get('CHATDROP_FALLBACKS'), aliases),
    logContent: flag(get('CHATDROP_LOG_CONTENT'), 'CHATDROP_LOG_CONTENT'),
    metricsToken: metricsToken(get('CHATDROP_METRICS_TOKEN')),
    supportUrl: supportUrl(get('CHATDROP_SUPPORT_URL')),
    modelPicker: flag(get('CHATDROP_MODEL_PICKER'), 'CHATDROP_MODEL_PICKER'),
    ...maxOutputTokens(get('CHATDROP_MAX_OUTPUT_TOKENS'), aliases),
    maxTokensField: maxTokensField(get('CHATDROP_MAX_TOKENS_FIELD'), get('OPENAI_BASE_URL')),
    handoff: parseHandoffConfig(get),
    knowledge: knowledgeSources(get('CHATDROP_KNOWLEDGE'), origin),
    knowledgeMaxPages: integer(get('CHATDROP_KNOWLEDGE_MAX_PAGES'), 'CHATDROP_KNOWLEDGE_MAX_PAGES', 2000, 1, 1_000_000),
    knowledgeRefreshHours: integer(get('CHATDROP_KNOWLEDGE_REFRESH_HOURS'), 'CHATDROP_KNOWLEDGE_REFRESH_HOURS', 24, 1, 8760),
    knowledgeTokens: integer(get('CHATDROP_KNOWLEDGE_TOKENS'), 'CHATDROP_KNOWLEDGE_TOKENS', 2000, 100, 1_000_000),
    knowledgeWorkers: integer(get('CHATDROP_KNOWLEDGE_WORKERS'), 'CHATDROP_KNOWLEDGE_WORKERS', 1, 1, 256),
    knowledgeExtractTimeoutMs: integer(get('CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS'), 'CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS', 5000, 100, 600_000),
    embeddingsModel: get('CHATDROP_EMBEDDINGS_MODEL'),
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

export function integer(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
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
function fallbacks(raw: string | undefined, aliases: ReadonlySet<string>): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  if (raw === undefined) return out;
  for (const pair of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const match = /^([A-Za-z0-9._-]+)\s*=\s*(\S+)$/.exec(pair);
    if (match === null) throw new ConfigError(`CHATDROP_FALLBACKS: "${pair}" is not alias=model-id`);
    const [, alias = '', model = ''] = match;
    if (!aliases.has(alias)) throw new ConfigError(`CHATDROP_FALLBACKS: "${alias}" is not an alias of CHATDROP_MODELS`);
    out.set(alias, model);
  }
  return out;
}

const DEFAULT_MAX_OUTPUT_TOKENS = 1024;
const MAX_OUTPUT_TOKENS_LIMIT = 1_000_000;

/**
 * `CHATDROP_MAX_OUTPUT_TOKENS=1024` caps every alias; `1024,smart=4096` (or `fast=512,smart=4096`)
 * gives some aliases their own cap, in the `alias=value` form of `CHATDROP_MODELS`. An alias
 * without one gets the bare number, or 1024 when there is none.
 */
function maxOutputTokens(raw: string | undefined, aliases: ReadonlySet<string>): Pick<Config, 'maxOutputTokens' | 'maxOutputTokensPerAlias'> {
  const name = 'CHATDROP_MAX_OUTPUT_TOKENS';
  let all: number | undefined;
  const perAlias = new Map<string, number>();
  if (raw === undefined) return { maxOutputTokens: DEFAULT_MAX_OUTPUT_TOKENS, maxOutputTokensPerAlias: perAlias };
  for (const entry of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const match = /^(?:([A-Za-z0-9._-]+)\s*=\s*)?(\S+)$/.exec(entry);
    if (match === null) throw new ConfigError(`${name}: "${entry}" is not a number or alias=number`);
    const [, alias, value = ''] = match;
    const tokens = integer(value, name, 0, 1, MAX_OUTPUT_TOKENS_LIMIT);
    if (alias === undefined) {
      if (all !== undefined) throw new ConfigError(`${name}: more than one number for every alias ("${entry}")`);
      all = tokens;
    } else {
      if (!aliases.has(alias)) throw new ConfigError(`${name}: "${alias}" is not an alias of CHATDROP_MODELS`);
      if (perAlias.has(alias)) throw new ConfigError(`${name}: alias "${alias}" appears twice`);
      perAlias.set(alias, tokens);
    }
  }
  return { maxOutputTokens: all ?? DEFAULT_MAX_OUTPUT_TOKENS, maxOutputTokensPerAlias: perAlias };
}

/**
 * Which request field carries the cap. OpenAI deprecated `max_tokens` for `max_completion_tokens`
 * (which also bounds reasoning tokens), and its reasoning models (o-series, gpt-5) refuse
 * `max_tokens` with 400 `unsupported_parameter`; so OpenAI itself and Azure OpenAI get
 * `max_completion_tokens`. Other OpenAI-compatible servers all read `max_tokens`, while several
 * silently ignore `max_completion_tokens` (Ollama, LM Studio, llama.cpp's server before 2026,
 * vLLM before 0.6.2; see ggml-org/llama.cpp#13700, ollama/ollama#7125), which would leave replies
 * uncapped without a word; so they get `max_tokens`. `CHATDROP_MAX_TOKENS_FIELD` overrides the guess.
 */
function maxTokensField(raw: string | undefined, baseUrl: string | undefined): MaxTokensField {
  if (raw === 'max_completion_tokens' || raw === 'max_tokens') return raw;
  if (raw !== undefined) throw new ConfigError(`CHATDROP_MAX_TOKENS_FIELD: expected max_completion_tokens or max_tokens, got "${raw}"`);
  const host = baseUrl === undefined || !URL.canParse(baseUrl) ? 'api.openai.com' : new URL(baseUrl).hostname;
  return host === 'api.openai.com' || host.endsWith('.openai.azure.com') ? 'max_completion_tokens' : 'max_tokens';
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

/**
 * `CHATDROP_KNOWLEDGE`: comma-separated sources. An http(s) URL whose path ends in `.xml` or
 * names a sitemap (`/sitemap`, `sitemap_index.xml`) is a sitemap; any other http(s) URL is a page
 * to crawl from; anything else is a local folder, optionally `folder=https://base/url/` to say
 * where its files are published (default: the server's own origin, `CHATDROP_PUBLIC_URL`).
 */
function knowledgeSources(raw: string | undefined, origin: string): KnowledgeSource[] {
  if (raw === undefined) return [];
  const out: KnowledgeSource[] = [];
  for (const entry of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
      const url = URL.canParse(entry) ? new URL(entry) : undefined;
      if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.username !== '' || url.password !== '') {
        throw new ConfigError(`CHATDROP_KNOWLEDGE: "${entry}" is not an http(s) URL without credentials`);
      }
      url.hash = '';
      const sitemap = /\.xml$/i.test(url.pathname) || /sitemap/i.test(url.pathname.slice(url.pathname.lastIndexOf('/')));
      out.push({ kind: sitemap ? 'sitemap' : 'page', url: url.href });
      continue;
    }
    const equals = entry.indexOf('=');
    const path = equals === -1 ? entry : entry.slice(0, equals).trim();
    const base = equals === -1 ? `${origin}/` : entry.slice(equals + 1).trim();
    const baseUrl = URL.canParse(base) ? new URL(base) : undefined;
    if (baseUrl === undefined || !['http:', 'https:'].includes(baseUrl.protocol)) {
      throw new ConfigError(`CHATDROP_KNOWLEDGE: the folder "${path}" needs an http(s) base URL after "=", got "${base}"`);
    }
    if (!baseUrl.pathname.endsWith('/')) baseUrl.pathname += '/';
    if (!statSync(resolve(path), { throwIfNoEntry: false })?.isDirectory()) {
      throw new ConfigError(`CHATDROP_KNOWLEDGE: "${path}" is neither an http(s) URL nor a folder`);
    }
    out.push({ kind: 'folder', path: resolve(path), baseUrl: baseUrl.href });
  }
  return out;
}
