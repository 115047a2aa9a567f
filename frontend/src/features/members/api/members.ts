import { keepPreviousData, useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components, operations } from '../../../api/schema';

export type Member = components['schemas']['MemberDto'];
export type MemberStatus = components['schemas']['MemberStatusDto'];
export type CreateMember = components['schemas']['CreateMemberRequest'];
export type UpdateMember = components['schemas']['UpdateMemberRequest'];
export type MemberQuery = NonNullable<operations['list_members']['parameters']['query']>;

export const MEMBER_STATUSES: MemberStatus[] = ['active', 'inactive', 'suspended'];

export const memberKeys = {
  all: ['members'] as const,
  list: (q: MemberQuery) => ['members', 'list', q] as const,
  one: (id: number) => ['members', 'one', id] as const,
};

export function useMembers(query: MemberQuery) {
  return useQuery({
    queryKey: memberKeys.list(query),
    queryFn: () => unwrap(api.GET('/api/members', { params: { query } })),
    placeholderData: keepPreviousData,
  });
}

/** The members with these ids (e.g. the ones a page of dues refers to), one cached GET each. */
export function useMembersById(ids: number[]) {
  const unique = [...new Set(ids)];
  const results = useQueries({
    queries: unique.map((id) => ({
      queryKey: memberKeys.one(id),
      queryFn: () => unwrap(api.GET('/api/members/{id}', { params: { path: { id } } })),
      staleTime: 5 * 60_000,
      retry: false,
    })),
  });
  const byId = new Map<number, Member>();
  results.forEach((r) => {
    if (r.data) byId.set(r.data.id, r.data);
  });
  return byId;
}

export function useSaveMember(id: number | null) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateMember | UpdateMember): Promise<Member> =>
      id === null
        ? unwrap(api.POST('/api/members', { body: body as CreateMember }))
        : unwrap(api.PATCH('/api/members/{id}', { params: { path: { id } }, body: body as UpdateMember })),
    onSuccess: (member) => {
      queryClient.setQueryData(memberKeys.one(member.id), member);
      void queryClient.invalidateQueries({ queryKey: memberKeys.all });
      void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
    },
  });
}

export function useDeleteMember() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (id: number) => {
      await api.DELETE('/api/members/{id}', { params: { path: { id } } });
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: memberKeys.all });
      void queryClient.invalidateQueries({ queryKey: ['dashboard'] });
    },
  });
}
