import { useSignal } from '@preact/signals';
import { h } from 'preact';
import { ApiFailure, inboxApi } from './inbox-api.js';

/** The contract's sign-in: fields "User" and "Password", button "Sign in". */
export function SignIn({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: () => void }) {
  const error = useSignal<string | undefined>(undefined);
  const busy = useSignal(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    busy.value = true;
    error.value = undefined;
    try {
      await inboxApi.signIn(String(form.get('user') ?? ''), String(form.get('password') ?? ''));
      onSignedIn();
    } catch (failure) {
      error.value = failure instanceof ApiFailure ? failure.message : 'Signing in failed. Please try again.';
      busy.value = false;
    }
  };
  return (
    <main class="sign-in">
      <h1>Chatdrop inbox</h1>
      {notice && <p class="notice">{notice}</p>}
      <form method="post" onSubmit={submit} aria-describedby={error.value ? 'sign-in-error' : undefined}>
        <label for="user">User</label>
        <input id="user" name="user" autocomplete="username" autocapitalize="none" spellcheck={false} required maxLength={64} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required maxLength={1024} />
        <button type="submit" disabled={busy.value}>
          Sign in
        </button>
        <p id="sign-in-error" class="error" role="alert">
          {error.value}
        </p>
      </form>
    </main>
  );
}
