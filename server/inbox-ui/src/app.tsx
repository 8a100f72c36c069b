import { useSignal } from '@preact/signals';
import { h } from 'preact';
import { useEffect } from 'preact/hooks';
import type { SessionInfo } from '@chatdrop/shared';
import { ApiFailure, inboxApi, sessionEnded } from './inbox-api.js';
import { InboxView } from './inbox-view.js';
import { SignIn } from './sign-in.js';

/**
 * The whole page: the sign-in until there is a session, then the inbox. A request that finds the
 * session gone (idle too long, signed out elsewhere) brings the sign-in back with a word about it.
 */
export function App() {
  const session = useSignal<SessionInfo | undefined | 'loading'>('loading');
  const notice = useSignal<string | undefined>(undefined);
  const signedOut = (message: string | undefined) => {
    notice.value = message;
    session.value = undefined;
  };
  const load = () => {
    inboxApi.session().then(
      (info) => (session.value = info),
      (error: unknown) => signedOut(error instanceof ApiFailure ? error.message : 'The inbox could not be loaded.'),
    );
  };
  useEffect(load, []);
  useEffect(() => {
    const seen = sessionEnded.peek();
    return sessionEnded.subscribe((count) => {
      if (count !== seen) signedOut('Your session has ended. Please sign in again.');
    });
  }, []);

  if (session.value === 'loading') return <p class="loading" role="status">Loading…</p>;
  if (session.value === undefined) {
    return (
      <SignIn
        notice={notice.value}
        onSignedIn={() => {
          notice.value = undefined;
          load();
        }}
      />
    );
  }
  return <InboxView session={session.value} onSignedOut={signedOut} />;
}
