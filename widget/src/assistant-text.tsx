import type { ReadonlySignal } from '@preact/signals';

/**
 * An assistant reply. Plain text for now (the signal itself as the child, so a delta touches one
 * text node); engineer D's incremental markdown renderer replaces this body when it lands.
 */
export function AssistantText({ source }: { source: ReadonlySignal<string> }) {
  return <div class="md">{source}</div>;
}
