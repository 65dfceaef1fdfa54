import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, session, whenUnauthorised, type Me } from './api';
import { ErrorText } from './ui';
import { CampaignList, CampaignPage } from './campaigns';
import { ReviewPage } from './review';
import { NewCampaign } from './new-campaign';
import { Admin } from './admin';
import './style.css';

/** The route lives in the hash (#/campaigns/<id>): the server serves one page, and keys never enter a URL. */
function useHashRoute(): string[] {
  const read = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = () => setParts(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>();
  // While the key is being checked: the button says so and takes no second press.
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>Campaign Mailer</h1>
      <form
        aria-busy={busy}
        onSubmit={async (e) => {
          e.preventDefault();
          if (busy) return;
          setBusy(true);
          setError(undefined);
          session.set(key.trim());
          try {
            const me = await api<Me>('GET', '/me');
            setBusy(false);
            onSignedIn(me);
          } catch (err) {
            session.clear();
            setError(err);
            setBusy(false);
          }
        }}
      >
        <label>
          API key
          <input type="password" name="api-key" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required autoFocus />
        </label>
        <p className="hint">Kept for this browser tab only, and sent only to this server&apos;s API.</p>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorText error={error} />
      </form>
    </main>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(!!session.key);
  const route = useHashRoute();
  useEffect(() => {
    whenUnauthorised(() => {
      session.clear();
      setMe(null);
    });
    if (session.key) {
      api<Me>('GET', '/me')
        .then(setMe, () => session.clear())
        .finally(() => setChecking(false));
    }
  }, []);
  if (checking) return <p>Loading…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;
  const can = (scope: string) => me.scopes.includes(scope);
  const [top, id, sub] = route;
  let page;
  if (top === 'campaigns' && id === 'new') page = <NewCampaign />;
  else if (top === 'campaigns' && id && sub === 'review') page = <ReviewPage id={id} can={can} />;
  else if (top === 'campaigns' && id) page = <CampaignPage id={id} can={can} />;
  else if (top === 'admin') page = <Admin can={can} section={id} />;
  else page = <CampaignList can={can} />;
  return (
    <>
      <header>
        <nav aria-label="main">
          <strong>Campaign Mailer</strong>
          <a href="#/campaigns">Campaigns</a>
          {can('campaigns:write') && <a href="#/campaigns/new">New campaign</a>}
          {(can('accounts:admin') || can('keys:admin') || can('campaigns:write')) && <a href="#/admin">Admin</a>}
        </nav>
        <span className="who">
          {me.principal} ({me.tenant}) · <span className="scopes">{me.scopes.join(', ')}</span>
          <button
            type="button"
            onClick={() => {
              session.clear();
              setMe(null);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main>{page}</main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
