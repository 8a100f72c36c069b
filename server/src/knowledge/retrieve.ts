import type { ChatMessage } from '@chatdrop/shared';
import type { KnowledgeStore, StoredPassage } from './knowledge-store.js';
import { terms } from './tokenize.js';

export interface RetrievalInput {
  /** The visitor's new message. */
  question: string;
  /** The conversation before it, oldest first (the new message may already be its last entry). */
  history: readonly ChatMessage[];
}

/** A question's vector and the passages' (optional: `CHATDROP_EMBEDDINGS_MODEL`). */
export interface VectorSide {
  /** The passages nearest the question, best first, with their cosine similarity. */
  nearest(input: RetrievalInput, limit: number): Promise<{ passage: StoredPassage; similarity: number }[]>;
  /** At or above this similarity a passage counts as relevant on its own. */
  minSimilarity: number;
}

export interface RetrieveOptions {
  /** Passages to consider (the prompt keeps what fits its token budget). */
  limit?: number;
  vectors?: VectorSide;
}

/** The question's own words count twice as much as the recent turns'. */
const QUESTION_WEIGHT = 2;
/** Earlier visitor messages that lend their words to a follow-up ("and on my phone?"). */
const CONTEXT_MESSAGES = 2;
const DEFAULT_LIMIT = 8;
const CANDIDATES = 20;
/** BM25's usual constants (Robertson & Zaragoza; FTS5 and Lucene use the same). */
const K1 = 1.2;
const B = 0.75;
/**
 * How much of the query's weight (each term weighted by its IDF and by where it came from) a
 * passage must contain to be given to the model. Chosen on the labelled set
 * (`retrieval-quality.test.ts`): at 0.3 every answerable question keeps its right page and the
 * off-topic ones ("what is the capital of France?") get none; the bench reports both.
 */
export const MIN_COVERAGE = 0.3;
/** Reciprocal rank fusion's constant (Cormack, Clarke & Büttcher, SIGIR 2009). */
const RRF_K = 60;

/**
 * The passages worth giving the model for this question, best first; empty when nothing in the
 * index is relevant enough (then the model is told so and says it does not know).
 *
 * The query is the question's terms (twice) plus those of the visitor's previous messages, so a
 * follow-up that names no topic finds the page of the topic in progress. The store picks
 * candidates by BM25 over the rarer terms; here each is ranked by BM25 with those weights and
 * judged on coverage: the share of the query's IDF weight it holds.
 * A passage must also hold one of the question's own terms when the question has any, so an
 * off-topic question in a long conversation does not pull in the earlier topic's page.
 * With embeddings, the vector ranking and BM25's are fused by reciprocal rank, and a passage close
 * enough in meaning counts as relevant even with none of the question's words.
 */
export async function retrieve(store: KnowledgeStore, input: RetrievalInput, options: RetrieveOptions = {}): Promise<StoredPassage[]> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  const own = terms(input.question);
  const context = recentQuestions(input).flatMap((text) => terms(text));
  const query: string[] = [];
  for (let i = 0; i < QUESTION_WEIGHT; i++) query.push(...own);
  query.push(...context);

  const [hits, near] = await Promise.all([
    store.search(query, CANDIDATES),
    options.vectors === undefined ? Promise.resolve([]) : options.vectors.nearest(input, CANDIDATES).catch(() => []),
  ]);

  const weights = new Map<string, number>();
  for (const term of query) weights.set(term, (weights.get(term) ?? 0) + 1);
  let totalWeight = 0;
  const idf = new Map<string, number>();
  for (const [term, weight] of weights) {
    const n = hits.documentFrequency.get(term) ?? 0;
    const value = Math.log(1 + (hits.total - n + 0.5) / (n + 0.5));
    idf.set(term, value);
    totalWeight += weight * value;
  }
  const ownSet = new Set(own);
  // Each candidate scored once: weighted BM25 (the question's terms count twice) and coverage.
  const scored: { passage: StoredPassage; score: number }[] = [];
  for (const passage of hits.passages) {
    const frequency = new Map<string, number>();
    let length = 0;
    for (const term of passage.terms.split(' ')) {
      length++;
      if (weights.has(term)) frequency.set(term, (frequency.get(term) ?? 0) + 1);
    }
    let score = 0;
    let covered = 0;
    let holdsOwn = false;
    const norm = K1 * (1 - B + (B * length) / Math.max(1, hits.averageLength));
    for (const [term, tf] of frequency) {
      const weight = (weights.get(term) ?? 0) * (idf.get(term) ?? 0);
      score += (weight * tf * (K1 + 1)) / (tf + norm);
      covered += weight;
      if (ownSet.has(term)) holdsOwn = true;
    }
    // A question with words of its own must find one of them here, however much of the earlier
    // topic a passage holds; a question with none ("why?", "and then?") leans on that topic.
    if (totalWeight === 0 || (own.length > 0 && !holdsOwn) || covered / totalWeight < MIN_COVERAGE) continue;
    scored.push({ passage, score });
  }
  const lexical = scored.sort((a, b) => b.score - a.score).map((s) => s.passage);
  if (near.length === 0) return lexical.slice(0, limit);

  const minSimilarity = options.vectors?.minSimilarity ?? 1;
  const semantic = near.filter((n) => n.similarity >= minSimilarity || lexical.some((p) => p.id === n.passage.id)).map((n) => n.passage);
  return fuse([lexical, semantic]).slice(0, limit);
}

/** Reciprocal rank fusion: each list gives 1 / (k + rank); ties keep the first list's order. */
export function fuse(lists: readonly StoredPassage[][]): StoredPassage[] {
  const scores = new Map<number, { passage: StoredPassage; score: number; first: number }>();
  for (const [l, list] of lists.entries()) {
    for (const [rank, passage] of list.entries()) {
      const entry = scores.get(passage.id) ?? { passage, score: 0, first: l * 1000 + rank };
      entry.score += 1 / (RRF_K + rank + 1);
      scores.set(passage.id, entry);
    }
  }
  return [...scores.values()].sort((a, b) => b.score - a.score || a.first - b.first).map((e) => e.passage);
}

/** The visitor's last few messages before this one, newest first. */
function recentQuestions(input: RetrievalInput): string[] {
  const out: string[] = [];
  const history = input.history;
  // The new message may be stored already (the chat route stores it before asking upstream).
  let i = history.length - 1;
  if (history[i]?.role === 'user' && history[i]?.content === input.question) i--;
  for (; i >= 0 && out.length < CONTEXT_MESSAGES; i--) {
    const message = history[i] as ChatMessage;
    if (message.role === 'user') out.push(message.content);
  }
  return out;
}
