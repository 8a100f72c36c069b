/**
 * `window.Chatdrop`, the page's handle on the widget (contract: "The embed"), installed by the
 * loader (`widget.js`). Its listeners live here, in the loader, so `on()` works at once; calls
 * that need the panel wait for it in the loader's queue (mount-widget.ts).
 *
 * Calls made before widget.js has loaded are kept by this stub, which a site pastes before the
 * script tag (also in the README), and replayed in order once the loader is up:
 *
 *   <script>
 *     window.Chatdrop = window.Chatdrop || { q: [] };
 *     ['open', 'close', 'toggle', 'send', 'reset', 'destroy', 'on'].forEach(function (m) {
 *       window.Chatdrop[m] = window.Chatdrop[m] || function () {
 *         window.Chatdrop.q.push([m, [].slice.call(arguments)]);
 *       };
 *     });
 *   </script>
 */
export type ChatdropEventName = 'open' | 'close' | 'message' | 'handoff';

export interface ChatdropApi {
  open(): void;
  close(): void;
  toggle(): void;
  send(text: string): void;
  reset(): void;
  destroy(): void;
  /**
   * Returns a function that removes the handler. `handoff` comes with `{ conversationId }` once the
   * server has stored a "Talk to a person" request (no address in it: analytics need none).
   */
  on(event: ChatdropEventName, handler: (detail?: unknown) => void): () => void;
}

export function createEmitter() {
  const handlers = new Map<ChatdropEventName, Set<(detail?: unknown) => void>>();
  return {
    on(event: ChatdropEventName, handler: (detail?: unknown) => void) {
      if (typeof handler !== 'function') return () => {};
      const set = handlers.get(event) ?? new Set();
      handlers.set(event, set.add(handler));
      return () => void set.delete(handler);
    },
    emit(event: ChatdropEventName, detail?: unknown) {
      for (const handler of [...(handlers.get(event) ?? [])]) {
        // A page's handler that throws must not break the widget.
        try {
          handler(detail);
        } catch (error) {
          setTimeout(() => {
            throw error;
          });
        }
      }
    },
    clear: () => handlers.clear(),
  };
}

/** Sets `window.Chatdrop`, then replays what the stub queued. */
export function installApi(win: Window, api: ChatdropApi): void {
  const holder = win as unknown as { Chatdrop?: unknown };
  const queued = (holder.Chatdrop as { q?: unknown } | undefined)?.q;
  holder.Chatdrop = api;
  if (!Array.isArray(queued)) return;
  for (const entry of queued) {
    const [name, args] = Array.isArray(entry) ? entry : [];
    // Only the API's own methods: a queued "constructor" or "__proto__" calls nothing.
    if (typeof name === 'string' && Object.hasOwn(api, name)) {
      (api[name as keyof ChatdropApi] as (...a: unknown[]) => void)(...(Array.isArray(args) ? args : []));
    }
  }
}
