/**
 * The one typed API client (openapi-fetch over the generated `schema.d.ts`) and its one
 * middleware: bearer token, one refresh and one retry on a 401, problem+json → ApiError.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { ApiError, problemToError } from './errors';
import { refreshAccessToken } from './refresh';
import { getSession } from '../auth/session';

/** Calls that must never trigger a refresh (they are the sign-in itself). */
const NO_REFRESH = new Set(['/api/auth/login', '/api/auth/refresh']);

function networkError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError({
    status: 0,
    code: 'network_error',
    detail: error instanceof Error ? error.message : String(error),
  });
}

export function authMiddleware(doFetch: () => typeof fetch, baseUrl: string): Middleware {
  const pending = new Map<string, { retry: Request; token: string | null }>();
  return {
    onRequest({ request, id }) {
      const token = getSession()?.accessToken ?? null;
      if (token && !request.headers.has('Authorization')) {
        request.headers.set('Authorization', `Bearer ${token}`);
      }
      // Keep an unread copy so the request can be sent once more after a refresh.
      pending.set(id, { retry: request.clone(), token });
      return request;
    },
    async onResponse({ response, schemaPath, id }) {
      const saved = pending.get(id);
      pending.delete(id);
      let final = response;
      if (response.status === 401 && saved && saved.token && !NO_REFRESH.has(schemaPath)) {
        try {
          const fresh = await refreshAccessToken(saved.token, doFetch(), baseUrl);
          if (fresh) {
            saved.retry.headers.set('Authorization', `Bearer ${fresh}`);
            final = await doFetch()(saved.retry);
          }
        } catch (error) {
          throw networkError(error);
        }
      }
      if (!final.ok) throw await problemToError(final);
      return final;
    },
    onError({ error, id }) {
      pending.delete(id);
      return networkError(error);
    },
  };
}

export function createApiClient(options: { baseUrl?: string; fetch?: typeof fetch } = {}) {
  const baseUrl = options.baseUrl ?? (typeof window !== 'undefined' ? window.location.origin : '');
  const doFetch = () => options.fetch ?? globalThis.fetch;
  const client = createClient<paths>({ baseUrl, fetch: (input) => doFetch()(input) });
  client.use(authMiddleware(doFetch, baseUrl));
  return client;
}

export const api = createApiClient();

/**
 * The data of a call whose errors the middleware already threw as ApiError.
 * `await unwrap(api.GET('/api/members'))`.
 */
export async function unwrap<R extends { data?: unknown }>(call: Promise<R>): Promise<NonNullable<R['data']>> {
  const result = await call;
  return result.data as NonNullable<R['data']>;
}
