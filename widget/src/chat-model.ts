import { batch, signal, type Signal } from '@preact/signals';
import type { ChatMessage, FinishReason, Source } from '@chatdrop/shared';
import { ChatError, isAbort, type ChatClient, type ClientErrorCode, type OnEvent } from './chat-client.js';
import { plainText } from './plain-text.js';

/** `streaming`: text is arriving; `done`: ended with stop/length; `cut`: stopped, broken or restored incomplete. */
export type MessageState = 'streaming' | 'done' | 'cut';
export type Rating = 'up' | 'down';

export interface UiMessage {
  /** Local and stable, for JSX keys; `id` is the server's, once known. */
  key: string;
  id?: string;
  role: ChatMessage['role'];
  /** Goes into JSX as the signal itself, so a delta updates one text node, not the component. */
  text: Signal<string>;
  state: Signal<MessageState>;
  rating: Signal<Rating | undefined>;
  /**
   * The knowledge pages a reply was grounded in. Undefined: the site has no knowledge (or the
   * reply predates it); an empty list: nothing the site has covered the question.
   */
  sources: Signal<Source[] | undefined>;
  /** Ended at the server's output-token cap (`finishReason: "length"`); set before `state` turns `done`. */
  long?: boolean;
}

export interface ModelError {
  code: ClientErrorCode;
  /** The server's visitor-safe words; empty when the widget should use its own. */
  message: string;
  retryAfter?: number;
}

/** What `message` listeners on `window.Chatdrop` receive. */
export interface MessageEventDetail {
  role: ChatMessage['role'];
  content: string;
  id?: string;
  status: 'complete' | 'incomplete';
}

export interface ChatModel {
  messages: Signal<readonly UiMessage[]>;
  status: Signal<'idle' | 'streaming'>;
  error: Signal<ModelError | undefined>;
  conversationId: Signal<string | undefined>;
  /** The chosen model alias; undefined means the server's default. */
  model: Signal<string | undefined>;
  /** The last finished reply, for the polite live region: heard once, not token by token. */
  announcement: Signal<string>;
  send(text: string): Promise<void>;
  /** Aborts the fetch and asks the server to stop the upstream request at once. */
  stop(): void;
  /** Resends the last question, dropping its failed or cut-off reply from view. */
  retry(): Promise<void>;
  /** A fresh conversation id next time; nothing is deleted on the server. */
  reset(): void;
  /**
   * Shows the stored conversation; a 404 quietly starts fresh. A last reply stored incomplete is
   * followed to its end if the server is still running it.
   */
  restore(): Promise<void>;
  /** Another tab changed the conversation: refresh unless a reply is running here. */
  sync(): void;
  rate(message: UiMessage, rating: Rating): void;
  /**
   * Asks a person to answer by email (`POST /api/handoff`); once the server has it, `confirmation`
   * joins the conversation and is announced. Rejects with ChatError.
   */
  handoff(email: string, note: string, confirmation: string): Promise<void>;
  dispose(): void;
}

export interface ChatModelOptions {
  client: ChatClient;
  /** Undefined when the page forbids storage (sandboxed iframes, some privacy modes). */
  storage: Storage | undefined;
  /**
   * `chatdrop:<api origin>`; `<key>:rev` is bumped when a reply ends, for other tabs; `<key>:run` is
   * set while a reply streams, so that the next page's loader loads the panel to follow it.
   */
  key: string;
  onMessage?: (detail: MessageEventDetail) => void;
  /** A hand-off was stored; for `Chatdrop.on('handoff')`. */
  onHandoff?: (detail: { conversationId: string }) => void;
  /** The page the visitor asks from, sent with each message for the team's inbox. */
  page?: () => string | undefined;
}

/**
 * Waits `ms`, or less when the browser comes back online or the reply is stopped. A timer left
 * behind by an early end only calls `done` again, which does nothing.
 */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((go) => {
    const done = () => {
      removeEventListener('online', done);
      go();
    };
    setTimeout(done, ms);
    addEventListener('online', done, { signal });
    signal.addEventListener('abort', done);
  });

let seq = 0;
const make = (role: UiMessage['role'], text: string, state: MessageState, id?: string, sources?: Source[]): UiMessage => ({
  key: `m${++seq}`,
  id,
  role,
  text: signal(text),
  state: signal(state),
  rating: signal(undefined),
  sources: signal(sources),
});

export function createChatModel({ client, storage, key, onMessage, onHandoff, page }: ChatModelOptions): ChatModel {
  const messages = signal<readonly UiMessage[]>([]);
  const status = signal<'idle' | 'streaming'>('idle');
  const error = signal<ModelError | undefined>(undefined);
  const conversationId = signal<string | undefined>(undefined);
  const model = signal<string | undefined>(undefined);
  const announcement = signal('');
  let run: { abort: AbortController; reply: UiMessage } | undefined;
  let restoring: Promise<void> | undefined;

  // Storage can throw (quota, disabled); the conversation then simply lasts as long as the page.
  const store = (name: string, value: string | undefined) => {
    try {
      if (value === undefined) storage?.removeItem(name);
      else storage?.setItem(name, value);
    } catch {}
  };

  /** Ends the running reply's view state; an empty reply leaves no bubble behind. */
  const settle = (reply: UiMessage, state: MessageState) =>
    batch(() => {
      store(`${key}:run`, undefined);
      run = undefined;
      status.value = 'idle';
      reply.state.value = state;
      if (state !== 'done' && !reply.text.peek()) messages.value = messages.value.filter((m) => m !== reply);
    });

  async function send(raw: string) {
    const text = raw.trim();
    if (!text) return;
    if (restoring) await restoring;
    stop();
    const user = make('user', text, 'done');
    const reply = make('assistant', '', 'streaming');
    messages.value = [...messages.value, user, reply];
    onMessage?.({ role: 'user', content: text, status: 'complete' });
    const id = conversationId.peek();
    // Undefined fields vanish in JSON: a first message names no conversation.
    const request = { message: text, conversationId: id, model: model.peek(), page: page?.() };
    await follow(reply, id, (on, signal) => client.chat(request, on, signal));
  }

  /**
   * Streams a reply into `reply` and, when the stream breaks off before `message-end` (network
   * change, laptop sleep), resumes it from the last event id seen (issue 6), so the visitor sees
   * one continuous answer. Without `chat` it starts by resuming from id 0: a reload mid-answer.
   */
  async function follow(reply: UiMessage, id?: string, chat?: (on: OnEvent, signal: AbortSignal) => Promise<boolean>) {
    const current = { abort: new AbortController(), reply };
    const { signal } = current.abort;
    run = current;
    batch(() => {
      reply.state.value = status.value = 'streaming';
      error.value = undefined;
    });
    let finish: FinishReason | undefined;
    let last = 0;
    let gone = false;
    let failure: ChatError | undefined;
    const on: OnEvent = (event, at) => {
      // A resume replays from the id we name; anything at or before the last one seen is a
      // duplicate, dropped so no text shows twice.
      if (at) {
        if (+at <= last) return;
        last = +at;
      }
      switch (event.type) {
        case 'message-start':
          reply.id = event.messageId;
          // A resume from id 0 replays the whole reply: its text starts over.
          reply.text.value = '';
          reply.sources.value = undefined;
          conversationId.value = event.conversationId;
          store(key, event.conversationId);
          store(`${key}:run`, '1');
          break;
        case 'sources':
          reply.sources.value = event.sources;
          break;
        case 'text-delta':
          reply.text.value += event.delta;
          break;
        case 'error':
          error.value = { code: event.code, message: event.message };
          break;
        case 'message-end':
          finish = event.finishReason;
          break;
        default: {
          const unexpected: never = event;
          void unexpected;
        }
      }
    };
    // Stop during a backoff wait ends the wait and the loop: no resume goes out.
    for (let tries = 0, seen = 0; !signal.aborted; ) {
      try {
        gone = !(await (chat ? chat(on, signal) : client.resume(reply.id!, `${last}`, on, signal)));
        failure = undefined;
        break;
      } catch (caught) {
        // Stop, reset, a newer send or destroy aborted this one: that is not an error.
        if (signal.aborted || isAbort(caught)) break;
        const e = caught instanceof ChatError ? caught : new ChatError('network');
        // The POST's own error is what the visitor is told. A resume that is refused (a server
        // without resume answers 404) only ends the trying: the break stays the reason shown.
        if (chat || e.code === 'network') failure = e;
        chat = undefined;
        // Progress since the last try: the connection works, so the backoff starts over.
        if (last > seen) (tries = 0), (seen = last);
        // A dropped connection, or the server briefly without its Redis (503): try again.
        if ((e.code !== 'network' && e.code !== 'upstream-unavailable') || !reply.id || tries > 4) break;
        await pause(500 * 2 ** tries++, signal);
      }
    }
    if (run !== current) return; // stop() already settled it
    if (failure) {
      // A 404 for our conversation id: it expired on the server. Forget it so Retry starts fresh.
      if (failure.code === 'not-found' && id) forget();
      error.value = failure; // a ModelError already: its code, the server's words, Retry-After
    }
    reply.long = finish === 'length';
    const complete = finish === 'stop' || reply.long;
    settle(reply, complete ? 'done' : 'cut');
    if (finish) {
      const content = reply.text.peek();
      // Tells other tabs of this site to refresh (the storage event fires only in the others).
      store(`${key}:rev`, `${Math.random()}`);
      onMessage?.({ role: 'assistant', content, id: reply.id, status: complete ? 'complete' : 'incomplete' });
      // (Not awaited: it waits for the log to show the reply. A reply sent since has its own.)
      plainText(content).then((text) => run || (announcement.value = text));
    }
    // 204: the reply ended while we were away, and the store has its final text.
    if (gone && last) await load();
  }

  function stop() {
    const current = run;
    if (!current) return;
    current.abort.abort();
    // Aborting the fetch alone would leave the upstream running for the resume grace (issue 6).
    if (current.reply.id) client.stop(current.reply.id).catch(() => {});
    settle(current.reply, 'cut');
  }

  const forget = () => {
    store(key, undefined);
    conversationId.value = undefined;
  };

  function reset() {
    stop();
    batch(() => {
      forget();
      messages.value = [];
      error.value = undefined;
    });
  }

  async function load(resume?: boolean) {
    let id: string | null | undefined;
    try {
      id = storage?.getItem(key);
    } catch {}
    if (!id) {
      if (conversationId.peek()) reset();
      return;
    }
    let conversation;
    try {
      conversation = await client.conversation(id);
    } catch {
      return; // offline or server trouble: keep what is shown, try again on the next sync
    }
    if (run) return; // a reply started meanwhile; its end refreshes the other tabs anyway
    batch(() => {
      if (!conversation) return reset();
      conversationId.value = id;
      error.value = undefined;
      messages.value = conversation.messages.map((m) =>
        make(m.role, m.content, m.status === 'complete' ? 'done' : 'cut', m.id, m.sources),
      );
    });
    // A reload in the middle of an answer: follow it from its start if it is still running
    // (issue 6); not awaited, so a send waiting for the restore is not held up by it. Only a
    // reply stored incomplete is `cut` here.
    const reply = messages.peek().at(-1);
    if (resume && reply?.state.peek() === 'cut') void follow(reply);
  }

  function restore() {
    const pending = load(true).finally(() => {
      if (restoring === pending) restoring = undefined;
      // Nothing left to follow (the reply ended while no page was open, or the conversation is
      // gone): the next page need not load the panel for it.
      if (!run) store(`${key}:run`, undefined);
    });
    restoring = pending;
    return pending;
  }

  async function retry() {
    const list = messages.peek();
    const at = list.findLastIndex((m) => m.role === 'user');
    const question = list[at];
    if (!question) return;
    messages.value = list.slice(0, at);
    await send(question.text.peek());
  }

  function rate(message: UiMessage, rating: Rating) {
    const id = conversationId.peek();
    if (!message.id || !id) return;
    const before = message.rating.peek();
    message.rating.value = rating;
    client.feedback({ conversationId: id, messageId: message.id, rating }).catch(() => {
      message.rating.value = before;
    });
  }

  async function handoff(email: string, note: string, confirmation: string) {
    const id = conversationId.peek()!;
    await client.handoff({ conversationId: id, email, note });
    // Only here, not stored: the team's email is the real answer, and a reload need not repeat this.
    messages.value = [...messages.value, make('assistant', confirmation, 'done')];
    announcement.value = confirmation;
    onHandoff?.({ conversationId: id });
  }

  return {
    messages,
    status,
    error,
    conversationId,
    model,
    announcement,
    send,
    stop,
    retry,
    reset,
    restore,
    // Not restore(): another tab's reply is that tab's to follow (and to stop).
    sync: () => void (run || load()),
    rate,
    handoff,
    dispose: stop,
  };
}
