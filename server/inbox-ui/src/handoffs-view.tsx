import { Fragment, h } from 'preact';
import type { HandoffDelivery, HandoffRecord } from '@chatdrop/shared';
import { formatDateTime, formatMoment, plural, relativeTime } from './format.js';

const CHANNEL = { webhook: 'Webhook', email: 'Email' } as const;

/**
 * Every hand-off of a conversation, oldest first: when the visitor asked, the address the team
 * answers, the note, and each channel's delivery in words (never colour alone): its state, how
 * many attempts, the last problem as a person would say it (with the receiver's own words beside
 * it for whoever fixes the channel), and when it is tried next.
 */
export function HandoffsView({ handoffs }: { handoffs: readonly HandoffRecord[] }) {
  if (handoffs.length === 0) return null;
  return (
    <section aria-labelledby="handoffs-title" class="handoffs">
      <h3 id="handoffs-title">{handoffs.length === 1 ? 'Hand-off to a person' : `Hand-offs to a person (${handoffs.length})`}</h3>
      <ol class="handoff-list">
        {handoffs.map((handoff) => (
          <li key={handoff.id} class="handoff">
            <h4>
              Asked <time dateTime={handoff.at}>{formatDateTime(handoff.at)}</time>
            </h4>
            <dl class="details">
              <dt>Answer to</dt>
              <dd class="email">{handoff.email}</dd>
              {/* The visitor's words are text: markup in them shows as the characters typed. */}
              <dt>Note</dt>
              <dd class="visitor-text">{handoff.note ?? 'none'}</dd>
              {handoff.deliveries.map((delivery) => (
                <Delivery delivery={delivery} key={delivery.channel} />
              ))}
            </dl>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Delivery({ delivery }: { delivery: HandoffDelivery }) {
  const { state, attempts, problem, detail, nextAttemptAt } = delivery;
  return (
    <>
      <dt>{CHANNEL[delivery.channel]}</dt>
      <dd class={`delivery ${state}`}>
        <span>
          <strong class={`state ${state === 'failed' ? 'bad' : state === 'pending' ? 'warn' : 'good'}`}>{stateWords(delivery)}</strong>
          {attempts > 0 && ` ${plural(attempts, 'attempt')}.`}
        </span>
        {problem !== null && (
          <span class="problem">
            {' '}
            {state === 'delivered' ? 'Before it went through: ' : 'Last problem: '}
            {problem}
            {detail !== null && <span class="detail">{` (${detail})`}</span>}
          </span>
        )}
        {state === 'pending' && nextAttemptAt !== null && (
          <span class="next">
            {' '}
            {Date.parse(nextAttemptAt) <= Date.now() ? (
              'Being tried now.'
            ) : (
              <>
                {attempts === 0 ? 'First attempt ' : 'Next attempt '}
                {relativeTime(nextAttemptAt)}, <time dateTime={nextAttemptAt}>{formatMoment(nextAttemptAt)}</time>.
              </>
            )}
          </span>
        )}
      </dd>
    </>
  );
}

function stateWords({ state }: HandoffDelivery): string {
  if (state === 'delivered') return 'Delivered.';
  if (state === 'failed') return 'Not delivered: Chatdrop stopped trying.';
  return 'Not delivered yet: Chatdrop keeps trying.';
}
