import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ExtractedHtml } from './extract.js';

export interface ExtractPoolOptions {
  /** Worker threads at most (`CHATDROP_KNOWLEDGE_WORKERS`); kept within 1 .. cores - 1. Default 1. */
  workers?: number;
  /** The longest one page may take (`CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS`); its worker is then ended. Default 5 s. */
  timeoutMs?: number;
  /** A worker with nothing to do ends after this long, and is started again when needed. Default 30 s. */
  idleMs?: number;
  /** Each worker's heap: a page that needs more ends its worker, not the server. Default 256 MB. */
  maxHeapMb?: number;
}

/** What the pool sends a worker. */
export interface ExtractRequest {
  id: number;
  html: string;
  url: string;
}

/** What a worker answers: it is ready (its modules loaded), or a page's text, or why it has none. */
export type ExtractAnswer = { ready: true } | { id: number; page: ExtractedHtml } | { id: number; error: string };

const DEFAULT_EXTRACT_TIMEOUT_MS = 5_000;
const DEFAULT_IDLE_MS = 30_000;
/**
 * The largest pages extract.ts accepts (30,000 elements, 2 MB) needed between 64 and 128 MB;
 * the cap is there so that a page which somehow needs more costs one worker, not the process.
 */
const DEFAULT_MAX_HEAP_MB = 256;

/**
 * From `server/dist` (what `pnpm start` runs) the worker is the emitted `extract-worker.js`, plain
 * Node. From the TypeScript sources (tsx in development, vitest) it is `extract-worker.ts`, loaded
 * through tsx's require hook by a one-line entry. Not through tsx's ESM loader: on Node 20 a
 * loader given to a worker with `--import` is not in place for the worker's own entry file
 * ("Unknown file extension .ts"), and the esbuild service that loader starts outlives a terminated
 * worker (its pipes stay open until the process exits: one stray esbuild per worker). The require
 * hook with `ESBUILD_WORKER_THREADS=0` transforms synchronously, one short-lived esbuild per file
 * not yet in tsx's cache, so nothing outlives the worker. (The packages then load as CommonJS,
 * linkedom's CommonJS build; `extract-pool.test.ts` compares the answers with this thread's.)
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_FILE = new URL(FROM_SOURCE ? './extract-worker.ts' : './extract-worker.js', import.meta.url);

function newWorker(options: { resourceLimits: { maxOldGenerationSizeMb: number } }): Worker {
  const common = { ...options, execArgv: [], stdout: false, stderr: false };
  if (!FROM_SOURCE) return new Worker(WORKER_FILE, common);
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const entry = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(fileURLToPath(WORKER_FILE))});`;
  return new Worker(entry, { ...common, eval: true, env: { ...process.env, ESBUILD_WORKER_THREADS: '0' } });
}

interface Job {
  id: number;
  html: string;
  url: string;
  resolve: (page: ExtractedHtml) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * `extractHtml` (extract.ts) off the event loop: a few worker threads take pages one at a time,
 * each within a time limit. A worker that overruns it is terminated (the page fails with a clear
 * error) and another is started for the next page; a worker that crashes is replaced the same way.
 * Workers start when there is work and end when idle, so between crawls the pool costs nothing;
 * an idle worker does not keep the process alive.
 *
 * Pages wait here for a free worker; the number waiting is the caller's to bound (the crawler has
 * at most its `concurrency` pages in hand, and fetches the next only when one is done), so the
 * pool never holds more HTML than the crawl fetched.
 */
export class ExtractPool {
  readonly #size: number;
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  readonly #maxHeapMb: number;
  readonly #slots = new Set<Slot>();
  readonly #waiting: Job[] = [];
  /** Workers being terminated; `close()` waits for them, so no thread outlives the pool. */
  readonly #ending = new Set<Promise<number>>();
  #nextId = 1;
  #closed = false;

  constructor(options: ExtractPoolOptions = {}) {
    this.#size = Math.max(1, Math.min(options.workers ?? 1, availableParallelism() - 1));
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_EXTRACT_TIMEOUT_MS;
    this.#idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.#maxHeapMb = options.maxHeapMb ?? DEFAULT_MAX_HEAP_MB;
  }

  /** Workers at most: the configured number within 1 .. cores - 1. */
  get size(): number {
    return this.#size;
  }

  /** What `extractHtml(html, url)` answers, worked out in a worker; rejects as it throws, or on overrun. */
  extract(html: string, url: string): Promise<ExtractedHtml> {
    if (this.#closed) return Promise.reject(new Error('extraction stopped: the server is shutting down'));
    return new Promise((resolve, reject) => {
      this.#waiting.push({ id: this.#nextId++, html, url, resolve, reject });
      this.#pump();
    });
  }

  /** Ends every worker (a page under way fails) and waits until their threads are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    const stopped = new Error('extraction stopped: the server is shutting down');
    for (const job of this.#waiting.splice(0)) job.reject(stopped);
    for (const slot of [...this.#slots]) this.#end(slot, stopped);
    await Promise.all(this.#ending);
  }

  /** Gives waiting pages to ready idle workers, and starts workers while pages wait for one. */
  #pump(): void {
    if (this.#closed) return;
    for (const slot of this.#slots) {
      if (this.#waiting.length === 0) return;
      if (slot.ready && slot.job === undefined) this.#dispatch(slot, this.#waiting.shift() as Job);
    }
    let starting = 0;
    for (const slot of this.#slots) if (!slot.ready) starting++;
    while (this.#slots.size < this.#size && starting < this.#waiting.length) {
      this.#start();
      starting++;
    }
  }

  #start(): void {
    const worker = newWorker({ resourceLimits: { maxOldGenerationSizeMb: this.#maxHeapMb } });
    const slot: Slot = { worker, ready: false, job: undefined, timer: undefined };
    this.#slots.add(slot);
    worker.on('message', (answer: ExtractAnswer) => this.#answer(slot, answer));
    // An uncaught error, the heap cap reached, a worker file that cannot load: the page under way
    // fails with the reason; the pages waiting get a new worker.
    worker.on('error', (error: Error) => this.#crashed(slot, `the extraction worker failed: ${error.message}`));
    worker.on('exit', (code) => this.#crashed(slot, `the extraction worker stopped (exit code ${code})`));
  }

  #answer(slot: Slot, answer: ExtractAnswer): void {
    if (!this.#slots.has(slot)) return;
    if ('ready' in answer) {
      slot.ready = true;
      this.#pump();
      this.#idleIfFree(slot);
      return;
    }
    const job = slot.job;
    if (job === undefined || job.id !== answer.id) return;
    clearTimeout(slot.timer);
    slot.job = undefined;
    if ('page' in answer) job.resolve(answer.page);
    else job.reject(new Error(answer.error));
    this.#pump();
    this.#idleIfFree(slot);
  }

  #dispatch(slot: Slot, job: Job): void {
    clearTimeout(slot.timer);
    slot.job = job;
    slot.worker.ref();
    // The clock starts here, with the worker's modules loaded: the limit is the page's own time.
    slot.timer = setTimeout(() => {
      this.#end(slot, new Error(`extraction took longer than ${this.#timeoutMs} ms (CHATDROP_KNOWLEDGE_EXTRACT_TIMEOUT_MS): the page was given up`));
      this.#pump();
    }, this.#timeoutMs);
    slot.worker.postMessage({ id: job.id, html: job.html, url: job.url } satisfies ExtractRequest);
    // The worker has its own copy; the caller keeps the page only as long as it needs it.
    job.html = '';
  }

  /** A ready worker with no page: unref'd (an idle pool never holds the process), ended after `idleMs`. */
  #idleIfFree(slot: Slot): void {
    if (slot.job !== undefined || !this.#slots.has(slot)) return;
    slot.worker.unref();
    slot.timer = setTimeout(() => this.#end(slot, undefined), this.#idleMs);
    slot.timer.unref();
  }

  #crashed(slot: Slot, reason: string): void {
    if (!this.#slots.has(slot)) return;
    const error = new Error(reason);
    // A worker that dies before it is ready (its file missing, say) would die again for every page
    // waiting: they fail now with its reason, rather than start worker after worker.
    if (!slot.ready) for (const job of this.#waiting.splice(0)) job.reject(error);
    this.#end(slot, error);
    this.#pump();
  }

  /** Takes the worker out of the pool, fails its page (when it has one) and terminates its thread. */
  #end(slot: Slot, error: Error | undefined): void {
    if (!this.#slots.delete(slot)) return;
    clearTimeout(slot.timer);
    if (slot.job !== undefined && error !== undefined) slot.job.reject(error);
    slot.job = undefined;
    const ending = slot.worker.terminate().catch(() => -1);
    this.#ending.add(ending);
    void ending.then(() => this.#ending.delete(ending));
  }
}
