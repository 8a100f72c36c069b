import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, outputCap, parseConfig } from './config.js';

const tempFile = (name: string, text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'chatdrop-config-')), name);
  writeFileSync(path, text);
  return path;
};

describe('parseConfig', () => {
  it('starts with no environment at all, on the documented defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      openaiApiKey: undefined,
      openaiBaseUrl: undefined,
      port: 8787,
      host: undefined,
      allowedOrigins: undefined,
      models: [{ alias: 'fast', model: 'gpt-4.1-mini' }],
      dbPath: './data/chatdrop.db',
      rateLimitPerMinute: 20,
      readRateLimitPerMinute: 300,
      trustProxy: undefined,
      resumeGraceMs: 10000,
      title: 'Help',
      starters: [],
      maxMessageChars: 4000,
      historyTokens: 8000,
      retentionDays: 30,
    });
    expect(config.systemPrompt.length).toBeGreaterThan(20);
  });

  it('reads every variable', () => {
    const config = parseConfig({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      PORT: '9000',
      HOST: '127.0.0.1',
      ALLOWED_ORIGINS: 'https://a.example, https://b.example:8443',
      CHATDROP_MODELS: 'fast=gpt-4.1-mini, smart=gpt-4.1',
      CHATDROP_SYSTEM_PROMPT: 'Be brief.',
      CHATDROP_DB: '/tmp/x.db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      CHATDROP_RATE_LIMIT: '5',
      CHATDROP_READ_RATE_LIMIT: '50',
      TRUST_PROXY: '1',
      CHATDROP_RESUME_GRACE_MS: '10000',
      CHATDROP_TITLE: 'Support',
      CHATDROP_GREETING: 'Hey',
      CHATDROP_STARTERS: 'One | Two|',
      CHATDROP_MAX_MESSAGE_CHARS: '100',
      CHATDROP_HISTORY_TOKENS: '2000',
      CHATDROP_RETENTION_DAYS: '7',
    });
    expect(config).toMatchObject({
      openaiApiKey: 'sk-test',
      openaiBaseUrl: 'http://127.0.0.1:11434/v1',
      port: 9000,
      host: '127.0.0.1',
      allowedOrigins: ['https://a.example', 'https://b.example:8443'],
      models: [
        { alias: 'fast', model: 'gpt-4.1-mini' },
        { alias: 'smart', model: 'gpt-4.1' },
      ],
      systemPrompt: 'Be brief.',
      dbPath: '/tmp/x.db',
      redisUrl: 'redis://127.0.0.1:6379',
      rateLimitPerMinute: 5,
      readRateLimitPerMinute: 50,
      trustProxy: 1,
      resumeGraceMs: 10000,
      title: 'Support',
      greeting: 'Hey',
      starters: ['One', 'Two'],
      maxMessageChars: 100,
      historyTokens: 2000,
      retentionDays: 7,
    });
  });

  it('takes the public origin from CHATDROP_PUBLIC_URL, else localhost on PORT, and refuses a URL with a path', () => {
    expect(parseConfig({}).publicOrigin).toBe('http://localhost:8787');
    expect(parseConfig({ PORT: '9000' }).publicOrigin).toBe('http://localhost:9000');
    expect(parseConfig({ CHATDROP_PUBLIC_URL: 'https://chat.example.com/' }).publicOrigin).toBe('https://chat.example.com');
    expect(parseConfig({ CHATDROP_PUBLIC_URL: 'https://chat.example.com:8443' }).publicOrigin).toBe('https://chat.example.com:8443');
    for (const bad of ['chat.example.com', 'https://chat.example.com/chat', 'ftp://chat.example.com', 'https://chat.example.com/?a=1']) {
      expect(() => parseConfig({ CHATDROP_PUBLIC_URL: bad }), bad).toThrow(ConfigError);
    }
  });

  it('reads the system prompt from CHATDROP_SYSTEM_PROMPT_FILE', () => {
    const file = tempFile('prompt.txt', 'You help with bicycles.\n');
    expect(parseConfig({ CHATDROP_SYSTEM_PROMPT_FILE: file }).systemPrompt).toBe('You help with bicycles.');
  });

  it('takes a JSON config file whose keys the environment overrides', () => {
    const file = tempFile(
      'chatdrop.json',
      JSON.stringify({ CHATDROP_TITLE: 'From file', CHATDROP_RATE_LIMIT: 7, CHATDROP_STARTERS: ['a', 'b'], PORT: 1234 }),
    );
    const config = parseConfig({ CHATDROP_CONFIG: file, PORT: '4321' });
    expect(config).toMatchObject({ title: 'From file', rateLimitPerMinute: 7, starters: ['a', 'b'], port: 4321 });
  });

  it('has the hardening defaults: 3 streams per IP, 200 turns, 200,000 characters, no budget, no fallback, no content in logs, no metrics', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      upstreamRetries: 2,
      maxStreamsPerIp: 3,
      maxTurns: 200,
      maxConversationChars: 200_000,
      dailyTokenBudget: undefined,
      logContent: false,
      metricsToken: undefined,
    });
    expect(config.fallbacks.size).toBe(0);
  });

  it('reads the hardening variables', () => {
    const config = parseConfig({
      CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1',
      CHATDROP_FALLBACKS: 'fast=gpt-4o-mini',
      CHATDROP_MAX_STREAMS_PER_IP: '5',
      CHATDROP_MAX_TURNS: '50',
      CHATDROP_MAX_CONVERSATION_CHARS: '10000',
      CHATDROP_DAILY_TOKEN_BUDGET: '2000000',
      CHATDROP_LOG_CONTENT: '1',
      CHATDROP_METRICS_TOKEN: 'a-long-enough-token',
      CHATDROP_UPSTREAM_RETRIES: '4',
    });
    expect(config).toMatchObject({
      maxStreamsPerIp: 5,
      maxTurns: 50,
      maxConversationChars: 10_000,
      dailyTokenBudget: 2_000_000,
      logContent: true,
      metricsToken: 'a-long-enough-token',
      upstreamRetries: 4,
    });
    expect([...config.fallbacks]).toEqual([['fast', 'gpt-4o-mini']]);
    expect(parseConfig({ CHATDROP_DAILY_TOKEN_BUDGET: '0' }).dailyTokenBudget).toBeUndefined();
  });

  it.each([
    [{ CHATDROP_FALLBACKS: 'slow=gpt-4o-mini' }, 'CHATDROP_FALLBACKS'],
    [{ CHATDROP_FALLBACKS: 'gpt-4o-mini' }, 'CHATDROP_FALLBACKS'],
    [{ CHATDROP_MAX_STREAMS_PER_IP: '0' }, 'CHATDROP_MAX_STREAMS_PER_IP'],
    [{ CHATDROP_DAILY_TOKEN_BUDGET: 'lots' }, 'CHATDROP_DAILY_TOKEN_BUDGET'],
    [{ CHATDROP_LOG_CONTENT: 'yes please' }, 'CHATDROP_LOG_CONTENT'],
    [{ CHATDROP_METRICS_TOKEN: 'short' }, 'CHATDROP_METRICS_TOKEN'],
  ])('refuses the hardening setting %j with an error naming %s', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(new RegExp(`^${name}`));
  });

  it('has no support link and no model picker by default', () => {
    expect(parseConfig({})).toMatchObject({ supportUrl: undefined, modelPicker: false });
  });

  it.each(['https://example.com/help', 'http://intranet.example/support', 'mailto:help@example.com', 'MAILTO:help@example.com?subject=Chat'])(
    'takes %s as CHATDROP_SUPPORT_URL',
    (url) => {
      expect(parseConfig({ CHATDROP_SUPPORT_URL: ` ${url} ` }).supportUrl).toBe(url);
    },
  );

  it.each([
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'ftp://example.com/help',
    '/help',
    'example.com/help',
    'https://exa mple.com',
    'mailto:',
    'mailto:nobody',
  ])('refuses %s as CHATDROP_SUPPORT_URL at start-up', (url) => {
    expect(() => parseConfig({ CHATDROP_SUPPORT_URL: url })).toThrow(ConfigError);
    expect(() => parseConfig({ CHATDROP_SUPPORT_URL: url })).toThrow(/^CHATDROP_SUPPORT_URL: expected an http\(s\):\/\/ URL or a mailto: address/);
  });

  it('says how to write a bare e-mail address as a support link', () => {
    expect(() => parseConfig({ CHATDROP_SUPPORT_URL: 'help@example.com' })).toThrow('write mailto:help@example.com');
  });

  it.each([
    ['1', true],
    ['true', true],
    ['0', false],
    ['false', false],
  ])('reads CHATDROP_MODEL_PICKER=%s as %s', (raw, expected) => {
    expect(parseConfig({ CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1', CHATDROP_MODEL_PICKER: raw }).modelPicker).toBe(expected);
  });

  it('takes the support link and the picker from a JSON config file too', () => {
    const file = tempFile('chatdrop.json', JSON.stringify({ CHATDROP_SUPPORT_URL: 'mailto:help@example.com', CHATDROP_MODEL_PICKER: true }));
    expect(parseConfig({ CHATDROP_CONFIG: file })).toMatchObject({ supportUrl: 'mailto:help@example.com', modelPicker: true });
  });

  it.each([
    [{ CHATDROP_MODEL_PICKER: 'yes' }, 'CHATDROP_MODEL_PICKER'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ CHATDROP_RATE_LIMIT: '-1' }, 'CHATDROP_RATE_LIMIT'],
    [{ CHATDROP_READ_RATE_LIMIT: '0' }, 'CHATDROP_READ_RATE_LIMIT'],
    [{ CHATDROP_MODELS: 'gpt-4.1-mini' }, 'CHATDROP_MODELS'],
    [{ CHATDROP_MODELS: 'a=x,a=y' }, 'CHATDROP_MODELS'],
    [{ ALLOWED_ORIGINS: 'https://a.example/path' }, 'ALLOWED_ORIGINS'],
    [{ OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL'],
    [{ CHATDROP_SYSTEM_PROMPT_FILE: '/nonexistent/prompt.txt' }, 'CHATDROP_SYSTEM_PROMPT_FILE'],
    [{ CHATDROP_CONFIG: '/nonexistent/chatdrop.json' }, 'CHATDROP_CONFIG'],
    [{ CHATDROP_INBOX_USERS: 'alice:hunter2' }, 'CHATDROP_INBOX_USERS'],
    [{ CHATDROP_INBOX_USERS: ',' }, 'CHATDROP_INBOX_USERS'],
  ])('refuses %j with an error naming %s', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(new RegExp(`^${name}`));
  });

  it('caps every reply at 1024 output tokens by default', () => {
    const config = parseConfig({ CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1' });
    expect([outputCap(config, 'fast'), outputCap(config, 'smart')]).toEqual([1024, 1024]);
  });

  it.each([
    ['300', [300, 300, 300]],
    ['300,smart=4096', [300, 4096, 300]],
    ['smart=4096, deep = 8000', [1024, 4096, 8000]],
  ])('reads CHATDROP_MAX_OUTPUT_TOKENS=%s as the caps of fast, smart and deep', (raw, caps) => {
    const config = parseConfig({ CHATDROP_MODELS: 'fast=gpt-4.1-mini,smart=gpt-4.1,deep=o3', CHATDROP_MAX_OUTPUT_TOKENS: raw });
    expect(['fast', 'smart', 'deep'].map((alias) => outputCap(config, alias))).toEqual(caps);
  });

  it.each(['0', '-5', 'lots', '1024,2048', 'other=100', 'fast=100,fast=200', 'fast=', '1.5', '2000000'])(
    'refuses CHATDROP_MAX_OUTPUT_TOKENS=%s at start-up',
    (raw) => {
      expect(() => parseConfig({ CHATDROP_MAX_OUTPUT_TOKENS: raw })).toThrow(/^CHATDROP_MAX_OUTPUT_TOKENS/);
    },
  );

  it.each([
    [undefined, 'max_completion_tokens'],
    ['https://api.openai.com/v1', 'max_completion_tokens'],
    ['https://my-resource.openai.azure.com/openai/v1/', 'max_completion_tokens'],
    ['https://openrouter.ai/api/v1', 'max_tokens'],
    ['http://127.0.0.1:11434/v1', 'max_tokens'],
  ])('sends the cap to OPENAI_BASE_URL=%s as %s', (baseUrl, field) => {
    expect(parseConfig(baseUrl === undefined ? {} : { OPENAI_BASE_URL: baseUrl }).maxTokensField).toBe(field);
  });

  it('lets CHATDROP_MAX_TOKENS_FIELD choose the field, and refuses any other name', () => {
    expect(parseConfig({ OPENAI_BASE_URL: 'https://openrouter.ai/api/v1', CHATDROP_MAX_TOKENS_FIELD: 'max_completion_tokens' }).maxTokensField).toBe('max_completion_tokens');
    expect(parseConfig({ CHATDROP_MAX_TOKENS_FIELD: 'max_tokens' }).maxTokensField).toBe('max_tokens');
    expect(() => parseConfig({ CHATDROP_MAX_TOKENS_FIELD: 'max_output_tokens' })).toThrow(/^CHATDROP_MAX_TOKENS_FIELD/);
  });

it('reads the support inbox users, and has no inbox without them', async () => {
    const { hashPassword } = await import('./inbox/password-hash.js');
    const hash = await hashPassword('a long enough phrase', { logN: 10, r: 8, p: 1 });
    expect(parseConfig({}).inboxUsers).toBeUndefined();
    expect([...(parseConfig({ CHATDROP_INBOX_USERS: `alice:${hash},bob:${hash}` }).inboxUsers?.keys() ?? [])]).toEqual(['alice', 'bob']);
    // The error names the entry, never echoes a password that was pasted instead of a hash.
    expect(() => parseConfig({ CHATDROP_INBOX_USERS: 'alice:hunter2' })).toThrow(/^CHATDROP_INBOX_USERS: the hash of "alice"/);
    expect(() => parseConfig({ CHATDROP_INBOX_USERS: 'alice:hunter2' })).not.toThrow(/hunter2/);
  });
});

it('reads the knowledge extraction workers and time limit, 1 worker and 5 s by default', () => {
  expect(parseConfig({})).toMatchObject({ knowledgeWorkers: 1, knowledgeExtractTimeoutMs: 5000 });
  expect(parseConfig({ CHATDROP_KNOWLEDGE_WORKERS: '3', CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS: '20000' })).toMatchObject({ knowledgeWorkers: 3, knowledgeExtractTimeoutMs: 20_000 });
  expect(() => parseConfig({ CHATDROP_KNOWLEDGE_WORKERS: '0' })).toThrow(/^CHATDROP_KNOWLEDGE_WORKERS/);
  expect(() => parseConfig({ CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS: '10' })).toThrow(/^CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS/);
});
