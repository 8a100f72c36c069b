import { h } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { SessionInfo } from '@chatdrop/shared';
import { ConversationList } from './conversation-list.js';
import { FiguresView } from './figures-view.js';
import { inboxApi } from './inbox-api.js';
import { follow, here } from './inbox-location.js';
import { TranscriptView } from './transcript-view.js';
import { hrefOf } from './url-state.js';

/** The signed-in inbox: a header with the two views and sign-out, then the view the URL names. */
export function InboxView({ session, onSignedOut }: { session: SessionInfo; onSignedOut: (notice: string | undefined) => void }) {
  const location = here.value;
  const list = { ...location, view: 'list' as const, conversation: undefined };
  const figures = { ...location, view: 'figures' as const, conversation: undefined };
  const main = useRef<HTMLElement>(null);
  const view = location.view === 'figures' ? 'figures' : location.conversation ?? 'list';
  // A new view takes focus at its heading, so a keyboard or screen reader starts there.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) return void (first.current = false);
    main.current?.querySelector<HTMLElement>('h2')?.focus();
  }, [view]);

  const signOut = async () => {
    await inboxApi.signOut().catch(() => undefined);
    onSignedOut('You are signed out.');
  };
  return (
    <div class="inbox">
      <header class="top">
        <h1>Chatdrop inbox</h1>
        <nav aria-label="Views">
          <a href={hrefOf(list)} aria-current={location.view === 'list' ? 'page' : undefined} onClick={(e) => follow(e, list)}>
            Conversations
          </a>
          <a href={hrefOf(figures)} aria-current={location.view === 'figures' ? 'page' : undefined} onClick={(e) => follow(e, figures)}>
            Daily figures
          </a>
        </nav>
        <p class="who">
          <span>Signed in as {session.user}</span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </p>
      </header>
      <main ref={main}>
        {location.view === 'figures' ? (
          <FiguresView session={session} />
        ) : location.conversation !== undefined ? (
          <TranscriptView id={location.conversation} session={session} />
        ) : (
          <ConversationList session={session} />
        )}
      </main>
    </div>
  );
}
