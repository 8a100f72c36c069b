import { effect, type Signal } from '@preact/signals';

/**
 * Below this width the panel is full-screen (styles.ts has the same breakpoint). Media Queries 4's
 * range syntax, shorter than `max-width: 479.98px`: every browser with constructed stylesheets has it.
 */
const PHONE = '(width<480px)';

/**
 * Phones: keep the full-screen panel above the on-screen keyboard (visualViewport shrinks, the
 * layout viewport does not), and stop the page behind from scrolling while the panel is open.
 * Both go through CSSOM; the page's own `overflow` is put back on close and on destroy.
 * Returns a cleanup; every listener is tied to `signal`.
 */
export function watchPhoneLayout(host: HTMLElement, open: Signal<boolean>, signal: AbortSignal): () => void {
  const win = host.ownerDocument.defaultView;
  const query = win?.matchMedia?.(PHONE);
  const viewport = win?.visualViewport;
  const page = host.ownerDocument.documentElement.style;
  /** The page's own `overflow` while ours is set; undefined while the page scrolls as it likes. */
  let saved: string | undefined;

  const fitViewport = () => viewport && host.style.setProperty('--cd-vh', `${viewport.height}px`);
  const update = (phone: boolean) => {
    if (phone) {
      saved ??= page.overflow;
      page.overflow = 'hidden';
      fitViewport();
    } else if (saved !== undefined) {
      page.overflow = saved;
      saved = undefined;
    }
  };
  const check = () => update(!!query?.matches && open.peek());

  viewport?.addEventListener('resize', fitViewport, { signal });
  query?.addEventListener?.('change', check, { signal });
  const stop = effect(() => {
    void open.value;
    check();
  });
  return () => {
    stop();
    update(false);
  };
}
