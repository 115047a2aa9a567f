import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';

export function useUsers(page: number) {
  return useQuery({
    queryKey: ['users', page],
    queryFn: () => unwrap(api.GET('/api/users', { params: { query: { page, per_page: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

export function useAudit(page: number) {
  return useQuery({
    queryKey: ['audit', page],
    queryFn: () => unwrap(api.GET('/api/audit', { params: { query: { page, per_page: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

export const CACHE_STATS = ['admin', 'cache', 'stats'] as const;

export function useCacheStats() {
  return useQuery({ queryKey: CACHE_STATS, queryFn: () => unwrap(api.GET('/api/admin/cache/stats')) });
}

export type CacheAction = 'clear' | 'warm' | 'refresh';

export function useCacheAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (action: CacheAction): Promise<{ action: CacheAction; count: number }> => {
      if (action === 'clear') {
        const r = await unwrap(api.POST('/api/admin/cache/clear', { body: null }));
        return { action, count: r.cleared_count };
      }
      if (action === 'warm') {
        const r = await unwrap(api.POST('/api/admin/cache/warm', { body: null }));
        return { action, count: r.cached_count + (r.dashboards_count ?? 0) };
      }
      const r = await unwrap(api.POST('/api/admin/cache/refresh'));
      return { action, count: r.refreshed_count };
    },
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: CACHE_STATS }),
  });
}
