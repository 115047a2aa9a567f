import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApiClient, unwrap } from './client';
import { ApiError } from './errors';
import { getSession, setSession } from '../auth/session';

const BASE = 'http://tessera.test';

function json(status: number, body: unknown, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });
}

function problem(status: number, code: string, detail: string, errors?: unknown[]): Response {
  return json(
    status,
    { type: `urn:tessera:problem:${code}`, title: 'x', status, detail, code, request_id: 'rid-1', errors },
    'application/problem+json',
  );
}

const user = {
  id: 1, email: 'a@b.c', name: 'A', is_admin: false, is_treasurer: false, is_active: true,
  otp_enabled: false, must_change_password: false, created_at: '2026-01-01T00:00:00Z',
};

function tokens(n: number) {
  return {
    access_token: `access-${n}`, token_type: 'Bearer', expires_in: 900,
    refresh_token: `refresh-${n}`, refresh_expires_in: 1209600, user,
  };
}

describe('api client middleware', () => {
  beforeEach(() => {
    localStorage.clear();
    setSession({ accessToken: 'access-0', refreshToken: 'refresh-0' });
  });
  afterEach(() => vi.restoreAllMocks());

  it('adds the bearer access token', async () => {
    const fetchMock = vi.fn(async (req: Request) => {
      expect(req.headers.get('Authorization')).toBe('Bearer access-0');
      return json(200, user);
    });
    const api = createApiClient({ baseUrl: BASE, fetch: fetchMock as unknown as typeof fetch });
    const me = await unwrap(api.GET('/api/auth/me'));
    expect(me.email).toBe('a@b.c');
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('refreshes exactly once for N parallel 401s and retries each request with the new token', async () => {
    let refreshes = 0;
    const fetchMock = vi.fn(async (req: Request) => {
      const url = new URL(req.url);
      if (url.pathname === '/api/auth/refresh') {
        refreshes += 1;
        const body = (await req.json()) as { refresh_token: string };
        expect(body.refresh_token).toBe('refresh-0');
        await new Promise((r) => setTimeout(r, 10));
        return json(200, tokens(1));
      }
      if (req.headers.get('Authorization') === 'Bearer access-1') return json(200, user);
      return problem(401, 'unauthenticated', 'expired');
    });
    const api = createApiClient({ baseUrl: BASE, fetch: fetchMock as unknown as typeof fetch });
    const results = await Promise.all(Array.from({ length: 5 }, () => unwrap(api.GET('/api/auth/me'))));
    expect(results).toHaveLength(5);
    expect(refreshes).toBe(1);
    expect(getSession()).toEqual({ accessToken: 'access-1', refreshToken: 'refresh-1' });
    // 5 first tries + 1 refresh + 5 retries
    expect(fetchMock).toHaveBeenCalledTimes(11);
  });

  it('does not refresh when another tab already rotated the token', async () => {
    const fetchMock = vi.fn(async (req: Request) => {
      if (new URL(req.url).pathname === '/api/auth/refresh') throw new Error('must not refresh');
      if (req.headers.get('Authorization') === 'Bearer access-9') return json(200, user);
      // Meanwhile "another tab" rotated the tokens.
      setSession({ accessToken: 'access-9', refreshToken: 'refresh-9' });
      return problem(401, 'unauthenticated', 'expired');
    });
    const api = createApiClient({ baseUrl: BASE, fetch: fetchMock as unknown as typeof fetch });
    await expect(unwrap(api.GET('/api/auth/me'))).resolves.toMatchObject({ id: 1 });
  });

  it('retries once only: a second 401 is an error, not another refresh', async () => {
    let refreshes = 0;
    const fetchMock = vi.fn(async (req: Request) => {
      if (new URL(req.url).pathname === '/api/auth/refresh') {
        refreshes += 1;
        return json(200, tokens(refreshes));
      }
      return problem(401, 'unauthenticated', 'session ended');
    });
    const api = createApiClient({ baseUrl: BASE, fetch: fetchMock as unknown as typeof fetch });
    const error = await api.GET('/api/auth/me').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(refreshes).toBe(1);
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  it('signs out when the refresh is refused', async () => {
    const fetchMock = vi.fn(async (req: Request) => {
      if (new URL(req.url).pathname === '/api/auth/refresh') return problem(401, 'unauthenticated', 'reused');
      return problem(401, 'unauthenticated', 'expired');
    });
    const api = createApiClient({ baseUrl: BASE, fetch: fetchMock as unknown as typeof fetch });
    await expect(api.GET('/api/auth/me')).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(getSession()).toBeNull();
  });

  it('keeps the session when the refresh fails for a network error', async () => {
    const fetchMock = vi.fn(async (req: Request) => {
      if (new URL(req.url).pathname === '/api/auth/refresh') throw new TypeError('Failed to fetch');
      return problem(401, 'unauthenticated', 'expired');
    });
    const api = createApiClient({ baseUrl: BASE, fetch: fetchMock as unknown as typeof fetch });
    await expect(api.GET('/api/auth/me')).rejects.toMatchObject({ code: 'network_error' });
    expect(getSession()).not.toBeNull();
  });

  it('never refreshes for the login call itself', async () => {
    const fetchMock = vi.fn(async () => problem(401, 'otp_required', 'One-time code required'));
    const api = createApiClient({ baseUrl: BASE, fetch: fetchMock as unknown as typeof fetch });
    await expect(
      api.POST('/api/auth/login', { body: { email: 'a@b.c', password: 'x' } }),
    ).rejects.toMatchObject({ code: 'otp_required', status: 401 });
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('maps problem+json to a typed ApiError with field errors', async () => {
    const fetchMock = vi.fn(async () =>
      problem(422, 'validation_failed', 'some fields are invalid', [{ field: 'email', message: 'bad email' }]),
    );
    const api = createApiClient({ baseUrl: BASE, fetch: fetchMock as unknown as typeof fetch });
    const error = (await api
      .POST('/api/members', { body: { name: 'X', org_unit_id: 1, email: 'nope' } })
      .catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.code).toBe('validation_failed');
    expect(error.detail).toBe('some fields are invalid');
    expect(error.requestId).toBe('rid-1');
    expect(error.fieldError('email')).toBe('bad email');
  });

  it('maps a non-problem failure and a network failure', async () => {
    const api1 = createApiClient({
      baseUrl: BASE,
      fetch: (async () => new Response('oops', { status: 502 })) as unknown as typeof fetch,
    });
    await expect(api1.GET('/api/auth/me')).rejects.toMatchObject({ status: 502, code: 'unknown_error' });
    const api2 = createApiClient({
      baseUrl: BASE,
      fetch: (async () => {
        throw new TypeError('Failed to fetch');
      }) as unknown as typeof fetch,
    });
    await expect(api2.GET('/api/auth/me')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });
});
