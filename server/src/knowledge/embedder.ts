import type OpenAI from 'openai';
import { toUpstreamError } from '../upstream/upstream.js';
import type { KnowledgeStore, StoredPassage } from './knowledge-store.js';
import type { RetrievalInput, VectorSide } from './retrieve.js';

export interface EmbedderOptions {
  openai: OpenAI;
  /** `CHATDROP_EMBEDDINGS_MODEL`, e.g. `text-embedding-3-small`. */
  model: string;
  /** A question's embedding waits at most this long; past it, retrieval goes on with BM25 alone. */
  queryTimeoutMs?: number;
}

/** Inputs per embeddings request when indexing (the API takes up to 2,048). */
const BATCH = 64;
/**
 * The similarity at which a passage counts as relevant with none of the question's words. For
 * OpenAI's text-embedding-3 models, related question/passage pairs score about 0.4 to 0.7 and
 * unrelated ones 0.05 to 0.25.
 */
const MIN_SIMILARITY = 0.4;

/**
 * Embeddings through the upstream's own `/v1/embeddings` (the real `openai` SDK, the same client
 * and key as the chat), for the passages when they are indexed and for each question. The
 * passages' vectors are read once per index (the store caches them) and compared by cosine.
 */
export class Embedder {
  readonly model: string;
  readonly #openai: OpenAI;
  readonly #queryTimeoutMs: number;

  constructor(options: EmbedderOptions) {
    this.#openai = options.openai;
    this.model = options.model;
    this.#queryTimeoutMs = options.queryTimeoutMs ?? 5_000;
  }

  /**
   * Unit vectors for `texts`, in order. A failure is an `UpstreamError`: its detail, for the log,
   * has the key redacted and is clipped (the SDK quotes an error body that is not JSON whole).
   */
  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    try {
      for (let at = 0; at < texts.length; at += BATCH) {
        const batch = texts.slice(at, at + BATCH);
        const response = await this.#openai.embeddings.create({ model: this.model, input: batch, encoding_format: 'float' }, { signal });
        const data = [...response.data].sort((a, b) => a.index - b.index);
        if (data.length !== batch.length) throw new Error(`the embeddings endpoint answered ${data.length} vectors for ${batch.length} inputs`);
        for (const item of data) out.push(normalise(Float32Array.from(item.embedding)));
      }
    } catch (error) {
      throw toUpstreamError(error, this.#openai.apiKey ?? undefined);
    }
    return out;
  }

  vectors(store: KnowledgeStore): VectorSide {
    return {
      minSimilarity: MIN_SIMILARITY,
      nearest: async (input: RetrievalInput, limit: number) => {
        const passages = await store.embedded();
        if (passages.length === 0) return [];
        const text = [...input.history.filter((m) => m.role === 'user').slice(-2).map((m) => m.content), input.question].join('\n');
        const [query] = await this.embed([text], AbortSignal.timeout(this.#queryTimeoutMs));
        if (query === undefined) return [];
        return nearest(query, passages, limit);
      },
    };
  }
}

/** The `limit` passages with the highest cosine similarity (vectors are unit length: a dot product). */
export function nearest(query: Float32Array, passages: readonly StoredPassage[], limit: number): { passage: StoredPassage; similarity: number }[] {
  const scored: { passage: StoredPassage; similarity: number }[] = [];
  for (const passage of passages) {
    const vector = passage.embedding;
    if (vector === undefined || vector.length !== query.length) continue;
    let dot = 0;
    for (let i = 0; i < vector.length; i++) dot += (vector[i] as number) * (query[i] as number);
    scored.push({ passage, similarity: dot });
  }
  return scored.sort((a, b) => b.similarity - a.similarity).slice(0, limit);
}

function normalise(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) / norm;
  return vector;
}
