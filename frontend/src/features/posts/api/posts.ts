import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components } from '../../../api/schema';

export type Post = components['schemas']['PostDto'];
export type CreatePost = components['schemas']['CreatePostRequest'];
export type UpdatePost = components['schemas']['UpdatePostRequest'];

const keys = { all: ['posts'] as const };

export const MAX_IMAGES = 10;

export function usePosts(unitId: number | null, page: number, perPage: number) {
  return useQuery({
    queryKey: [...keys.all, 'board', unitId, page, perPage],
    queryFn: () =>
      unwrap(api.GET('/api/posts', { params: { query: { page, per_page: perPage, ...(unitId ? { org_unit_id: unitId } : {}) } } })),
    placeholderData: keepPreviousData,
  });
}

export function usePopularPosts(page: number, perPage: number, enabled: boolean) {
  return useQuery({
    queryKey: [...keys.all, 'popular', page, perPage],
    queryFn: () => unwrap(api.GET('/api/posts/popular', { params: { query: { page, per_page: perPage } } })),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function usePostMutations() {
  const queryClient = useQueryClient();
  const onSuccess = () => queryClient.invalidateQueries({ queryKey: keys.all });
  return {
    create: useMutation({ mutationFn: (body: CreatePost) => unwrap(api.POST('/api/posts', { body })), onSuccess }),
    update: useMutation({
      mutationFn: ({ id, body }: { id: number; body: UpdatePost }) =>
        unwrap(api.PATCH('/api/posts/{id}', { params: { path: { id } }, body })),
      onSuccess,
    }),
    remove: useMutation({
      mutationFn: (id: number) => api.DELETE('/api/posts/{id}', { params: { path: { id } } }),
      onSuccess,
    }),
  };
}

/** Pinned posts first, each group in the order the API gave (newest first). */
export function pinnedFirst(posts: Post[]): Post[] {
  return [...posts.filter((p) => p.pinned), ...posts.filter((p) => !p.pinned)];
}
