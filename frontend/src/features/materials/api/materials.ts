import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components } from '../../../api/schema';

export type Material = components['schemas']['MaterialDto'];

export function useMaterialTypes() {
  return useQuery({
    queryKey: ['materials', 'types'],
    queryFn: () => unwrap(api.GET('/api/material-types', { params: { query: { per_page: 100 } } })),
    staleTime: 5 * 60_000,
  });
}

export function useMaterialList(typeId: number | null) {
  return useQuery({
    queryKey: ['materials', 'list', typeId],
    queryFn: () =>
      unwrap(api.GET('/api/materials', { params: { query: { per_page: 100, ...(typeId ? { material_type_id: typeId } : {}) } } })),
    placeholderData: keepPreviousData,
  });
}
