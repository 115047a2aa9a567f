/**
 * One refresh at a time, in this tab and across tabs. Refresh tokens rotate and a reused one ends
 * the whole session (docs/auth.md), so:
 * - in a tab, parallel 401s share one in-flight promise;
 * - across tabs, the refresh runs under a Web Lock, and inside it we first look whether another
 *   tab already replaced the access token that failed: then we use that one and send nothing.
 */
import type { components } from './schema';
import { getSession, setSession } from '../auth/session';

type TokenResponse = components['schemas']['TokenResponse'];

const LOCK_NAME = 'tessera-auth-refresh';
let inflight: Promise<string | null> | null = null;

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (locks && typeof locks.request === 'function') {
    return locks.request(LOCK_NAME, fn) as Promise<T>;
  }
  return fn();
}

/**
 * Gets a fresh access token after `failedToken` was refused. Resolves to the new token, or null
 * when the session is over (the session is then cleared: the app goes to the sign-in page).
 * Rejects (keeping the session) on a network error or a 5xx, so a blip signs nobody out.
 */
export function refreshAccessToken(
  failedToken: string | null,
  doFetch: typeof fetch,
  baseUrl: string,
): Promise<string | null> {
  if (inflight) return inflight;
  const run = withLock(async () => {
    const current = getSession();
    if (!current) return null;
    if (failedToken !== null && current.accessToken !== failedToken) {
      // Another tab (or an earlier refresh here) already rotated the tokens.
      return current.accessToken;
    }
    const response = await doFetch(
      new Request(`${baseUrl}/api/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: current.refreshToken }),
      }),
    );
    if (response.ok) {
      const body = (await response.json()) as TokenResponse;
      setSession({ accessToken: body.access_token, refreshToken: body.refresh_token });
      return body.access_token;
    }
    if (response.status >= 500 || response.status === 429) {
      throw new Error(`refresh failed: HTTP ${response.status}`);
    }
    setSession(null);
    return null;
  });
  inflight = run.finally(() => {
    inflight = null;
  });
  return inflight;
}
