import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components, operations } from '../../../api/schema';

export type Payment = components['schemas']['PaymentDto'];
export type PaymentRequest = components['schemas']['PaymentRequest'];
export type Purpose = components['schemas']['PurposeDto'];
export type Method = components['schemas']['MethodDto'];
export type PaymentQuery = NonNullable<operations['list_payments']['parameters']['query']>;

export const PURPOSES: Purpose[] = ['dues', 'material', 'donation'];
export const METHODS: Method[] = ['pix', 'cash', 'transfer', 'card', 'other'];

export function usePayments(query: PaymentQuery) {
  return useQuery({
    queryKey: ['payments', 'list', query],
    queryFn: () => unwrap(api.GET('/api/payments', { params: { query } })),
    placeholderData: keepPreviousData,
  });
}

function invalidateMoney(queryClient: ReturnType<typeof useQueryClient>) {
  void queryClient.invalidateQueries({ queryKey: ['payments'] });
  void queryClient.invalidateQueries({ queryKey: ['dues'] });
  void queryClient.invalidateQueries({ queryKey: ['materials'] });
  void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
}

export function useCreatePayment() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: PaymentRequest) => unwrap(api.POST('/api/payments', { body })),
    onSuccess: () => invalidateMoney(queryClient),
  });
}

export function useDeletePayment() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (id: number) => {
      await api.DELETE('/api/payments/{id}', { params: { path: { id } } });
    },
    onSuccess: () => invalidateMoney(queryClient),
  });
}

export function useMaterials() {
  return useQuery({
    queryKey: ['materials', 'all'],
    queryFn: () => unwrap(api.GET('/api/materials', { params: { query: { per_page: 100 } } })),
    staleTime: 60_000,
  });
}
