import { effect } from '@preact/signals';
import { useEffect } from 'preact/hooks';

/**
 * Calls `run` at most once per animation frame, after the signals that `read` reads change (and
 * once after mount), until unmount. Streaming sends a delta per token; this is how the reply's
 * markdown and the log's scroll keep to one update a frame (issue 4). Like `useSignalEffect`
 * with its own frame, without that hook's scheduler in widget.js.
 */
export function useFrameEffect(read: () => unknown, run: () => void, deps: unknown[] = []): void {
  useEffect(() => {
    let frame = 0;
    const stop = effect(() => {
      read();
      frame ||= requestAnimationFrame(() => {
        frame = 0;
        run();
      });
    });
    return () => {
      stop();
      cancelAnimationFrame(frame);
    };
  }, deps);
}
