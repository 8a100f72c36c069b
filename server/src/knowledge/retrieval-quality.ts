import type { KnowledgeStore } from './knowledge-store.js';
import { retrieve, type VectorSide } from './retrieve.js';
import { RETRIEVAL_SET } from './retrieval-set.js';

export interface RetrievalQuality {
  /** Answerable questions whose right page is among the first three pages retrieved. */
  recallAt3: number;
  answerable: number;
  /** Questions no article covers for which nothing was retrieved. */
  offTopicEmpty: number;
  offTopic: number;
  misses: string[];
}

/** Scores retrieval on the labelled set; `slugOf` maps a passage URL to its article's slug. */
export async function measureRetrieval(store: KnowledgeStore, slugOf: (url: string) => string, vectors?: VectorSide): Promise<RetrievalQuality> {
  let hits = 0;
  let answerable = 0;
  let offTopicEmpty = 0;
  let offTopic = 0;
  const misses: string[] = [];
  for (const item of RETRIEVAL_SET) {
    const history = (item.after ?? []).flatMap((content, i) => [
      { id: `u${i}`, role: 'user' as const, content, createdAt: '', status: 'complete' as const },
      { id: `a${i}`, role: 'assistant' as const, content: 'An answer.', createdAt: '', status: 'complete' as const },
    ]);
    const passages = await retrieve(store, { question: item.question, history }, { vectors });
    const pages = [...new Set(passages.map((p) => slugOf(p.url)))].slice(0, 3);
    if (item.page === null) {
      offTopic++;
      if (passages.length === 0) offTopicEmpty++;
      else misses.push(`${item.question} -> ${pages.join(', ')} (expected nothing)`);
      continue;
    }
    answerable++;
    if (pages.includes(item.page)) hits++;
    else misses.push(`${item.question} -> ${pages.join(', ') || 'nothing'} (expected ${item.page})`);
  }
  return { recallAt3: hits / answerable, answerable, offTopicEmpty, offTopic, misses };
}
