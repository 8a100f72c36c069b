import { h } from 'preact';
import type { ConversationSummary, HandoffMark } from '@chatdrop/shared';
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
      {handoff && <li class={`mark ${HANDOFF_CLASS[handoff.state]}`}>{handoffWords(handoff)}</li>}
    </ul>
  );
}

const HANDOFF_CLASS = { delivered: 'info', pending: 'warn', failed: 'bad' } as const;
const HANDOFF_STATE = { delivered: 'delivered', pending: 'being delivered', failed: 'not delivered' } as const;

/** "Hand-off delivered", "Hand-off not delivered (latest of 2)". */
export function handoffWords(mark: HandoffMark): string {
  return `Hand-off ${HANDOFF_STATE[mark.state]}${mark.count > 1 ? ` (latest of ${mark.count})` : ''}`;
}
