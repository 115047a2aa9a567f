import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components } from '../../../api/schema';

export type MaterialType = components['schemas']['MaterialTypeDto'];
export type Material = components['schemas']['MaterialDto'];
export type CreateMaterial = components['schemas']['CreateMaterialRequest'];
export type UpdateMaterial = components['schemas']['UpdateMaterialRequest'];
export type CreateMaterialType = components['schemas']['CreateMaterialTypeRequest'];
export type UpdateMaterialType = components['schemas']['UpdateMaterialTypeRequest'];

const keys = { types: ['material-types'] as const, materials: ['materials'] as const };

export function useMaterialTypes() {
  return useQuery({
    queryKey: keys.types,
    queryFn: () => unwrap(api.GET('/api/material-types', { params: { query: { page: 1, per_page: 100 } } })),
  });
}

export function useMaterials(typeId: number | null, page: number, perPage: number) {
  return useQuery({
    queryKey: [...keys.materials, typeId, page, perPage],
    queryFn: () =>
      unwrap(
        api.GET('/api/materials', {
          params: { query: { page, per_page: perPage, ...(typeId ? { material_type_id: typeId } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

export function useMaterialMutations() {
  const queryClient = useQueryClient();
  const invalidate = () => queryClient.invalidateQueries({ queryKey: keys.materials });
  const invalidateTypes = () => queryClient.invalidateQueries({ queryKey: keys.types });
  return {
    createType: useMutation({
      mutationFn: (body: CreateMaterialType) => unwrap(api.POST('/api/material-types', { body })),
      onSuccess: invalidateTypes,
    }),
    updateType: useMutation({
      mutationFn: ({ id, body }: { id: number; body: UpdateMaterialType }) =>
        unwrap(api.PATCH('/api/material-types/{id}', { params: { path: { id } }, body })),
      onSuccess: invalidateTypes,
    }),
    removeType: useMutation({
      mutationFn: (id: number) => api.DELETE('/api/material-types/{id}', { params: { path: { id } } }),
      onSuccess: invalidateTypes,
    }),
    create: useMutation({
      mutationFn: (body: CreateMaterial) => unwrap(api.POST('/api/materials', { body })),
      onSuccess: invalidate,
    }),
    update: useMutation({
      mutationFn: ({ id, body }: { id: number; body: UpdateMaterial }) =>
        unwrap(api.PATCH('/api/materials/{id}', { params: { path: { id } }, body })),
      onSuccess: invalidate,
    }),
    remove: useMutation({
      mutationFn: (id: number) => api.DELETE('/api/materials/{id}', { params: { path: { id } } }),
      onSuccess: invalidate,
    }),
  };
}

/** One unit's stock of one material; each row of the stock dialog has its own (own error). */
export function useSetStock() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, unitId, quantity }: { id: number; unitId: number; quantity: number }) =>
      unwrap(api.PUT('/api/materials/{id}/stock/{org_unit_id}', { params: { path: { id, org_unit_id: unitId } }, body: { quantity } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.materials }),
  });
}

/** Cents → a price in the user's language ("R$ 12,50"). */
export function formatPrice(cents: number, currency: string, locale: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

/** "12,50" or "12.50" or "1.234,5" → cents (null when not a positive price). */
export function parsePrice(text: string): number | null {
  const cleaned = text.trim().replace(/\s/g, '');
  if (!/^\d{1,3}([.,]?\d{3})*([.,]\d{1,2})?$|^\d+([.,]\d{1,2})?$/.test(cleaned)) return null;
  const m = /^(.*?)(?:[.,](\d{1,2}))?$/.exec(cleaned);
  if (!m) return null;
  const whole = (m[1] ?? '').replace(/[.,]/g, '');
  const frac = (m[2] ?? '').padEnd(2, '0');
  const cents = Number(whole) * 100 + Number(frac || '0');
  return Number.isFinite(cents) && cents >= 1 ? cents : null;
}
