import { h } from 'preact';
import type { ConversationSummary } from './api-types.js';
import { plural } from './format.js';

/** A conversation's marks in words (never colour alone): ratings, failed and cut replies, hand-off. */
export function Marks({ summary }: { summary: Pick<ConversationSummary, 'up' | 'down' | 'failed' | 'incomplete' | 'handoff'> }) {
  const { up, down, failed, incomplete, handoff } = summary;
  const cut = incomplete - failed;
  if (up + down + failed + cut === 0 && !handoff) return null;
  return (
    <ul class="marks" aria-label="Marks">
      {down > 0 && <li class="mark bad">{`👎 ${plural(down, 'down rating')}`}</li>}
      {up > 0 && <li class="mark good">{`👍 ${plural(up, 'up rating')}`}</li>}
      {failed > 0 && <li class="mark bad">{plural(failed, 'failed reply', 'failed replies')}</li>}
      {cut > 0 && <li class="mark warn">{plural(cut, 'incomplete reply', 'incomplete replies')}</li>}
      {handoff && <li class="mark info">{`Hand-off ${handoff.state}`}</li>}
    </ul>
  );
}
