import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { FileType } from './upload';

const keys = { all: ['files'] as const };

export const FILE_TYPES: FileType[] = ['general', 'post_image', 'material', 'avatar', 'receipt'];

export function useFiles(fileType: FileType | null, page: number, perPage: number) {
  return useQuery({
    queryKey: [...keys.all, fileType, page, perPage],
    queryFn: () =>
      unwrap(api.GET('/api/files', { params: { query: { page, per_page: perPage, ...(fileType ? { file_type: fileType } : {}) } } })),
    placeholderData: keepPreviousData,
  });
}

export function useFileMutations() {
  const queryClient = useQueryClient();
  const invalidate = () => queryClient.invalidateQueries({ queryKey: keys.all });
  return {
    invalidate,
    remove: useMutation({
      mutationFn: (id: number) => api.DELETE('/api/files/{id}', { params: { path: { id } } }),
      onSuccess: invalidate,
    }),
  };
}

export function formatSize(bytes: number, locale: string): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: u === 0 ? 0 : 1 }).format(v)} ${units[u]}`;
}
