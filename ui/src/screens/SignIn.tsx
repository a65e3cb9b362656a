import { useState } from 'preact/hooks';
import { gql, token } from '../api.js';
import { VIEWER_QUERY, type Viewer } from '../viewer.js';

/** Paste a token: checked with `viewer`, then kept in sessionStorage (this tab only). */
export function SignIn({ onSignedIn }: { onSignedIn: (v: Viewer) => void }) {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    token.set(secret.trim());
    try {
      const { viewer } = await gql<{ viewer: Viewer }>(VIEWER_QUERY);
      setSecret('');
      onSignedIn(viewer);
    } catch (err) {
      token.clear();
      setError((err as Error).message);
    }
  };
  return (
    <main class="page signin" id="main">
      <h1>Model registry console</h1>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" type="password" autoComplete="off" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} required />
        <p class="hint">Kept in this tab's session storage only; sign out clears it.</p>
        <button type="submit">Sign in</button>
        {error && <p role="alert" class="error">{error}</p>}
      </form>
    </main>
  );
}
