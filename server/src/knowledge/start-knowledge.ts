import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type OpenAI from 'openai';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { Embedder } from './embedder.js';
import { Knowledge } from './knowledge.js';
import type { KnowledgeSource } from './knowledge-source.js';
import { RedisKnowledgeStore } from './redis-knowledge-store.js';
import { SqliteKnowledgeStore } from './sqlite-knowledge-store.js';
import type { KnowledgeStore } from './knowledge-store.js';

/** The demo help centre as built by `demo/` (`help-centre.ts`), served by this server at `/help/`. */
const DEMO_HELP = fileURLToPath(new URL('../../../demo/dist/help/', import.meta.url));

/**
 * `main.ts`'s knowledge: the sources of `CHATDROP_KNOWLEDGE`, or, for the offline demo with none
 * configured, the demo help centre's pages (the folder this server serves at `/help/`, so their
 * URLs are this server's own), kept in the same backend as the conversations. Undefined when
 * there is nothing to index. Started here; the caller closes it.
 */
export function startKnowledge(input: { config: Config; openai: OpenAI; logger: Logger; redis: Redis | undefined; demo: boolean }): { knowledge: Knowledge; close(): Promise<void> } | undefined {
  const { config, openai, logger, redis, demo } = input;
  let sources: KnowledgeSource[] = config.knowledge;
  if (sources.length === 0 && demo && existsSync(DEMO_HELP)) {
    sources = [{ kind: 'folder', path: DEMO_HELP, baseUrl: `${config.publicOrigin}/help/` }];
    logger.info('knowledge: the offline demo answers from the demo help centre (set CHATDROP_KNOWLEDGE for your own pages)');
  }
  if (sources.length === 0) return undefined;
  const store: KnowledgeStore = redis === undefined ? new SqliteKnowledgeStore({ path: config.dbPath }) : new RedisKnowledgeStore({ redis });
  const knowledge = new Knowledge({
    sources,
    store,
    log: logger,
    refreshMs: config.knowledgeRefreshHours * 60 * 60 * 1000,
    limits: { maxPages: config.knowledgeMaxPages },
    embedder: config.embeddingsModel === undefined ? undefined : new Embedder({ openai, model: config.embeddingsModel }),
    extraction: { workers: config.knowledgeWorkers, timeoutMs: config.knowledgeExtractTimeoutMs },
  });
  knowledge.start();
  return {
    knowledge,
    async close() {
      await knowledge.close();
      await store.close();
    },
  };
}
