import { signal } from '@preact/signals';
import { hrefOf, readLocation, type InboxLocation } from './url-state.js';

/** Where the page is; follows Back and Forward. */
export const here = signal<InboxLocation>(readLocation(location.search));

addEventListener('popstate', () => {
  here.value = readLocation(location.search);
});

/** Goes somewhere in the inbox: a new history entry (or the same one replaced), no page load. */
export function navigate(to: InboxLocation, options: { replace?: boolean } = {}): void {
  const href = hrefOf(to);
  if (options.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  here.value = to;
}

/**
 * A link's click, handled in the page when it is a plain click (a modified one opens a new tab
 * as links do, which works because every view has its own URL).
 */
export function follow(event: MouseEvent, to: InboxLocation): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(to);
}
