/**
 * The login session's tokens, kept in localStorage so every tab shares them (one refresh token
 * for all tabs: see src/api/refresh.ts). Subscribers hear changes from this tab and from others.
 */
export interface Session {
  accessToken: string;
  refreshToken: string;
}

const KEY = 'tessera.session';
type Listener = () => void;
const listeners = new Set<Listener>();
let cached: Session | null | undefined;
let cachedRaw: string | null = null;

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

let memory: string | null = null;

function readRaw(): string | null {
  const s = storage();
  return s ? s.getItem(KEY) : memory;
}

export function getSession(): Session | null {
  const raw = readRaw();
  if (cached !== undefined && raw === cachedRaw) return cached;
  cachedRaw = raw;
  try {
    const parsed = raw ? (JSON.parse(raw) as Partial<Session>) : null;
    cached =
      parsed && typeof parsed.accessToken === 'string' && typeof parsed.refreshToken === 'string'
        ? { accessToken: parsed.accessToken, refreshToken: parsed.refreshToken }
        : null;
  } catch {
    cached = null;
  }
  return cached;
}

export function setSession(session: Session | null): void {
  const raw = session ? JSON.stringify(session) : null;
  const s = storage();
  if (s) {
    if (raw) s.setItem(KEY, raw);
    else s.removeItem(KEY);
  } else {
    memory = raw;
  }
  notify();
}

function notify() {
  for (const l of [...listeners]) l();
}

export function subscribeSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    if (e.key === KEY || e.key === null) notify();
  });
}
