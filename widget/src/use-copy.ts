import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';

/**
 * Copy to the clipboard, and `copied` for two seconds after, for a button to say so. Shared by the
 * reply's Copy and the code blocks' Copy. `navigator.clipboard` is missing on insecure origins;
 * then the button does nothing rather than throw.
 * A signal rather than `useState`: reading it re-renders the caller the same way, and with no
 * `useState` anywhere Preact's hook for it stays out of widget.js (issue 4's size budget).
 */
export function useCopy(): [copied: boolean, copy: (text: string) => void] {
  const state = useSignal(false);
  const copied = state.value;
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => (state.value = false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  return [copied, (text) => void navigator.clipboard?.writeText(text).then(() => (state.value = true), () => {})];
}
