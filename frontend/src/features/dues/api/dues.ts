import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components, operations } from '../../../api/schema';

export type Dues = components['schemas']['DuesDto'];
export type DuesStatus = components['schemas']['DuesStatusDto'];
export type GenerateDues = components['schemas']['GenerateDuesRequest'];
export type DuesQuery = NonNullable<operations['list_dues']['parameters']['query']>;

export const DUES_STATUSES: DuesStatus[] = ['open', 'paid', 'waived'];

export function useDuesList(query: DuesQuery) {
  return useQuery({
    queryKey: ['dues', 'list', query],
    queryFn: () => unwrap(api.GET('/api/dues', { params: { query } })),
    placeholderData: keepPreviousData,
  });
}

export function useGenerateDues() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: GenerateDues) => unwrap(api.POST('/api/dues/generate', { body })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['dues'] });
      void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
    },
  });
}

export function useSetDuesStatus() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, status }: { id: number; status: 'open' | 'waived' }) =>
      unwrap(api.PATCH('/api/dues/{id}', { params: { path: { id } }, body: { status } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['dues'] });
      void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
    },
  });
}
