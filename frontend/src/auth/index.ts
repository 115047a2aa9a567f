/** The current user and its roles, and signing in and out. */
import { useSyncExternalStore } from 'react';
import { useQuery, type QueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import type { components } from '../api/schema';
import { getSession, setSession, subscribeSession, type Session } from './session';

export type User = components['schemas']['UserDto'];
export type TokenResponse = components['schemas']['TokenResponse'];

export const ME_KEY = ['auth', 'me'] as const;

export function useSession(): Session | null {
  return useSyncExternalStore(subscribeSession, getSession, getSession);
}

export function useMe() {
  const session = useSession();
  return useQuery({
    queryKey: ME_KEY,
    queryFn: () => unwrap(api.GET('/api/auth/me')),
    enabled: session !== null,
    staleTime: 60_000,
  });
}

/** The signed-in user; only inside the guarded layout, where it is loaded. */
export function useCurrentUser(): User {
  const { data } = useMe();
  if (!data) throw new Error('useCurrentUser outside the signed-in layout');
  return data;
}

export interface Roles {
  isAdmin: boolean;
  isTreasurer: boolean;
  /** Central, regional, sector or cell user: has an org unit. */
  hasUnit: boolean;
  orgUnitId: number | null;
}

export function rolesOf(user: User | undefined): Roles {
  return {
    isAdmin: user?.is_admin ?? false,
    isTreasurer: user?.is_treasurer ?? false,
    hasUnit: user?.org_unit_id != null,
    orgUnitId: user?.org_unit_id ?? null,
  };
}

export function useRoles(): Roles {
  const { data } = useMe();
  return rolesOf(data);
}

export function signIn(queryClient: QueryClient, tokens: TokenResponse): void {
  queryClient.clear();
  setSession({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
  queryClient.setQueryData(ME_KEY, tokens.user);
}

export async function signOut(queryClient: QueryClient, everywhere = false): Promise<void> {
  const session = getSession();
  try {
    if (session) {
      await api.POST('/api/auth/logout', {
        body: { everywhere, refresh_token: session.refreshToken },
      });
    }
  } catch {
    // The session may already be over; signing out locally is what matters.
  } finally {
    setSession(null);
    queryClient.clear();
  }
}
