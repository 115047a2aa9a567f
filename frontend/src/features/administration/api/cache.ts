import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components } from '../../../api/schema';

export type CacheStats = components['schemas']['StatsDto'];
export type ClearRequest = components['schemas']['ClearRequest'];
export type WarmRequest = components['schemas']['WarmRequest'];
export type ClearResponse = components['schemas']['ClearResponse'];
export type WarmResponse = components['schemas']['WarmResponse'];
export type RefreshResponse = components['schemas']['RefreshResponse'];
/** The namespaces a clear accepts (from the spec's enum). */
export type ClearableNamespace = NonNullable<Exclude<ClearRequest, { file_id: number }>['namespace']>;

export const CLEARABLE: ClearableNamespace[] = ['file_url', 'materials', 'members', 'org', 'dashboard', 'post_lists'];

export const cacheKeys = { stats: ['administration', 'cache', 'stats'] as const };

export function useCacheStats() {
  return useQuery({
    queryKey: cacheKeys.stats,
    queryFn: async () => (await unwrap(api.GET('/api/admin/cache/stats'))).stats,
    refetchInterval: 30_000,
  });
}

export type CacheAction =
  | { kind: 'clear'; body: ClearRequest }
  | { kind: 'warm'; body: WarmRequest }
  | { kind: 'refresh' };

export type CacheResult =
  | { kind: 'clear'; answer: ClearResponse }
  | { kind: 'warm'; answer: WarmResponse }
  | { kind: 'refresh'; answer: RefreshResponse };

export async function runCacheAction(action: CacheAction): Promise<CacheResult> {
  switch (action.kind) {
    case 'clear':
      return { kind: 'clear', answer: await unwrap(api.POST('/api/admin/cache/clear', { body: action.body })) };
    case 'warm':
      return { kind: 'warm', answer: await unwrap(api.POST('/api/admin/cache/warm', { body: action.body })) };
    case 'refresh':
      return { kind: 'refresh', answer: await unwrap(api.POST('/api/admin/cache/refresh')) };
  }
}

export function useCacheAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: runCacheAction,
    onSettled: () => queryClient.invalidateQueries({ queryKey: cacheKeys.stats }),
  });
}
