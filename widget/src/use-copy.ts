import { useEffect, useState } from 'preact/hooks';

/**
 * Copy to the clipboard, and `copied` for two seconds after, for a button to say so. Shared by the
 * reply's Copy and the code blocks' Copy. `navigator.clipboard` is missing on insecure origins;
 * then the button does nothing rather than throw.
 */
export function useCopy(): [copied: boolean, copy: (text: string) => void] {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(setCopied, 2000, false);
    return () => clearTimeout(timer);
  }, [copied]);
  return [copied, (text) => void navigator.clipboard?.writeText(text).then(() => setCopied(true), () => {})];
}
