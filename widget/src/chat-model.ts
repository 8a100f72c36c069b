import { batch, signal, type Signal } from '@preact/signals';
import type { ChatMessage, FinishReason } from '@chatdrop/shared';
import { ChatError, isAbort, type ChatClient, type ClientErrorCode } from './chat-client.js';

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
  /** Shows the stored conversation; a 404 quietly starts fresh. */
  restore(): Promise<void>;
  /** Another tab changed the conversation: refresh unless a reply is running here. */
  sync(): void;
  rate(message: UiMessage, rating: Rating): void;
  dispose(): void;
}

export interface ChatModelOptions {
  client: ChatClient;
  /** Undefined when the page forbids storage (sandboxed iframes, some privacy modes). */
  storage: Storage | undefined;
  /** `chatdrop:<api origin>`; `<key>:rev` is bumped when a reply ends, for other tabs. */
  key: string;
  onMessage?: (detail: MessageEventDetail) => void;
}

let seq = 0;
const make = (role: UiMessage['role'], text: string, state: MessageState, id?: string): UiMessage => ({
  key: `m${++seq}`,
  id,
  role,
  text: signal(text),
  state: signal(state),
  rating: signal(undefined),
});

export function createChatModel({ client, storage, key, onMessage }: ChatModelOptions): ChatModel {
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
  const stored = (): string | undefined => {
    try {
      return storage?.getItem(key) ?? undefined;
    } catch {
      return undefined;
    }
  };

  /** Ends the running reply's view state; an empty reply leaves no bubble behind. */
  const settle = (reply: UiMessage, state: MessageState) =>
    batch(() => {
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
    const current = { abort: new AbortController(), reply };
    run = current;
    batch(() => {
      messages.value = [...messages.value, user, reply];
      status.value = 'streaming';
      error.value = undefined;
    });
    onMessage?.({ role: 'user', content: text, status: 'complete' });
    let finish: FinishReason | undefined;
    const id = conversationId.peek();
    const alias = model.peek();
    try {
      await client.chat(
        // Undefined fields vanish in JSON: a first message names no conversation.
        { message: text, conversationId: id, model: alias },
        (event) => {
          switch (event.type) {
            case 'message-start':
              reply.id = event.messageId;
              conversationId.value = event.conversationId;
              store(key, event.conversationId);
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
        },
        current.abort.signal,
      );
    } catch (caught) {
      // Stop, reset, a newer send or destroy aborted this one: that is not an error.
      if (!current.abort.signal.aborted && !isAbort(caught)) {
        const e = caught instanceof ChatError ? caught : new ChatError('network');
        // A 404 for our conversation id: it expired on the server. Forget it so Retry starts fresh.
        if (e.code === 'not-found' && id) forget();
        error.value = { code: e.code, message: e.message, retryAfter: e.retryAfter };
      }
    }
    if (run !== current) return; // stop() already settled it
    const complete = finish === 'stop' || finish === 'length';
    settle(reply, complete ? 'done' : 'cut');
    if (finish) {
      const content = reply.text.peek();
      announcement.value = content;
      // Tells other tabs of this site to refresh (the storage event fires only in the others).
      store(`${key}:rev`, `${Date.now()}${Math.random()}`);
      onMessage?.({ role: 'assistant', content, id: reply.id, status: complete ? 'complete' : 'incomplete' });
    }
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

  async function load() {
    const id = stored();
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
        make(m.role, m.content, m.status === 'complete' ? 'done' : 'cut', m.id),
      );
    });
  }

  function restore() {
    const pending = load().finally(() => {
      if (restoring === pending) restoring = undefined;
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
    sync: () => void (run || restore()),
    rate,
    dispose: stop,
  };
}
