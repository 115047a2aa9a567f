/** Users, API tokens and the audit log: queries and mutations of the administration pages. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components } from '../../../api/schema';
import { orgUnitKeys } from '../../org/api/orgUnits';

export type User = components['schemas']['UserDto'];
export type CreateUser = components['schemas']['CreateUserRequest'];
export type UpdateUser = components['schemas']['UpdateUserRequest'];
export type ApiToken = components['schemas']['ApiTokenDto'];
export type CreatedToken = components['schemas']['CreatedTokenDto'];
export type CreateToken = components['schemas']['CreateTokenRequest'];
export type Scope = components['schemas']['ScopeDto'];
export type AuditEvent = components['schemas']['AuditEventDto'];
export type AuditAction = components['schemas']['AuditAction'];
export type CreateOrgUnit = components['schemas']['CreateOrgUnitRequest'];
export type UpdateOrgUnit = components['schemas']['UpdateOrgUnitRequest'];

export const SCOPES: Scope[] = ['read', 'write', 'cache:admin'];
export const AUDIT_ACTIONS: AuditAction[] = [
  'login_succeeded',
  'login_failed',
  'rate_limited',
  'logout',
  'refresh_token_reused',
  'otp_enabled',
  'otp_disabled',
  'recovery_code_used',
  'password_changed',
  'password_reset',
  'user_created',
  'user_updated',
  'user_deleted',
  'token_created',
  'token_revoked',
  'cache_cleared',
  'member_deleted',
  'dues_deleted',
  'payment_deleted',
];

const keys = {
  users: ['administration', 'users'] as const,
  allUsers: ['administration', 'users', 'all'] as const,
  tokens: ['administration', 'tokens'] as const,
  audit: ['administration', 'audit'] as const,
};

export function useUsers(page: number, perPage: number) {
  return useQuery({
    queryKey: [...keys.users, page, perPage],
    queryFn: () => unwrap(api.GET('/api/users', { params: { query: { page, per_page: perPage } } })),
    placeholderData: keepPreviousData,
  });
}

/** Every user (first 100), for name look-ups and pickers. */
export function useAllUsers(enabled = true) {
  return useQuery({
    queryKey: keys.allUsers,
    queryFn: () => unwrap(api.GET('/api/users', { params: { query: { page: 1, per_page: 100 } } })),
    enabled,
    staleTime: 60_000,
  });
}

export function useUserMutations() {
  const queryClient = useQueryClient();
  const onSuccess = () => queryClient.invalidateQueries({ queryKey: keys.users });
  return {
    create: useMutation({
      mutationFn: (body: CreateUser) => unwrap(api.POST('/api/users', { body })),
      onSuccess,
    }),
    update: useMutation({
      mutationFn: ({ id, body }: { id: number; body: UpdateUser }) =>
        unwrap(api.PATCH('/api/users/{id}', { params: { path: { id } }, body })),
      onSuccess,
    }),
    remove: useMutation({
      mutationFn: (id: number) => api.DELETE('/api/users/{id}', { params: { path: { id } } }),
      onSuccess,
    }),
    resetPassword: useMutation({
      mutationFn: ({ id, password }: { id: number; password: string }) =>
        unwrap(api.POST('/api/users/{id}/password-reset', { params: { path: { id } }, body: { password } })),
      onSuccess,
    }),
    removeOtp: useMutation({
      mutationFn: (id: number) => unwrap(api.DELETE('/api/users/{id}/otp', { params: { path: { id } } })),
      onSuccess,
    }),
  };
}

export function useTokens() {
  return useQuery({ queryKey: keys.tokens, queryFn: () => unwrap(api.GET('/api/tokens')) });
}

export function useTokenMutations() {
  const queryClient = useQueryClient();
  const onSuccess = () => queryClient.invalidateQueries({ queryKey: keys.tokens });
  return {
    create: useMutation({
      mutationFn: (body: CreateToken) => unwrap(api.POST('/api/tokens', { body })),
      onSuccess,
    }),
    revoke: useMutation({
      mutationFn: (id: number) => api.DELETE('/api/tokens/{id}', { params: { path: { id } } }),
      onSuccess,
    }),
  };
}

export interface AuditFilter {
  action: AuditAction | null;
  userId: number | null;
  page: number;
  perPage: number;
}

export function useAudit(filter: AuditFilter) {
  return useQuery({
    queryKey: [...keys.audit, filter],
    queryFn: () =>
      unwrap(
        api.GET('/api/audit', {
          params: {
            query: {
              page: filter.page,
              per_page: filter.perPage,
              ...(filter.action ? { action: filter.action } : {}),
              ...(filter.userId ? { user_id: filter.userId } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

export function useOrgUnitMutations() {
  const queryClient = useQueryClient();
  const onSuccess = () => queryClient.invalidateQueries({ queryKey: orgUnitKeys.all });
  return {
    create: useMutation({
      mutationFn: (body: CreateOrgUnit) => unwrap(api.POST('/api/org-units', { body })),
      onSuccess,
    }),
    update: useMutation({
      mutationFn: ({ id, body }: { id: number; body: UpdateOrgUnit }) =>
        unwrap(api.PATCH('/api/org-units/{id}', { params: { path: { id } }, body })),
      onSuccess,
    }),
    remove: useMutation({
      mutationFn: (id: number) => api.DELETE('/api/org-units/{id}', { params: { path: { id } } }),
      onSuccess,
    }),
  };
}
