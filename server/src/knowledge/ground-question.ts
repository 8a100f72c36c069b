import type { ChatMessage, Source } from '@chatdrop/shared';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { StoredPassage } from './knowledge-store.js';
import { ground, type GroundingOffer } from './prompt.js';
import type { RetrievalInput } from './retrieve.js';

/** What the chat route needs of the knowledge: passages for a question, and where to send a visitor they do not help. */
export interface ChatKnowledge {
  retrieve(input: RetrievalInput): Promise<StoredPassage[]>;
  offer: GroundingOffer;
}

const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * The chat route's retrieval step: the passages for the visitor's question (and recent turns),
 * made into the grounded system prompt, with the pages given as the reply's sources. When the
 * index cannot be read, the reply goes on with no passages (and `sources: []`): the model is told
 * it has nothing and says it does not know, which is true; the log says why.
 */
export async function groundQuestion(
  knowledge: ChatKnowledge,
  input: { config: Config; question: string; history: readonly ChatMessage[]; log: Logger },
): Promise<{ systemPrompt: string; sources: Source[] }> {
  const { config, question, history, log } = input;
  let passages: StoredPassage[] = [];
  const started = performance.now();
  try {
    passages = await knowledge.retrieve({ question, history });
  } catch (error) {
    log.error({ err: error }, 'knowledge: retrieval failed; answering without passages');
  }
  const grounding = ground({
    systemPrompt: config.systemPrompt,
    passages,
    knowledgeTokens: config.knowledgeTokens,
    requestTokens: config.historyTokens,
    messageTokens: countTokens(question, AS_PLAIN_TEXT),
    offer: knowledge.offer,
  });
  log.debug({ passages: grounding.passages.length, sources: grounding.sources.length, retrievalMs: Math.round((performance.now() - started) * 100) / 100 }, 'knowledge: question grounded');
  return { systemPrompt: grounding.systemPrompt, sources: grounding.sources };
}
