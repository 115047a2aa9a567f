/**
 * A direct upload: POST /api/files/uploads declares it, the bytes are PUT to the returned
 * (signed) URL with exactly the returned headers, then POST /api/files/{id}/complete stores it.
 * The PUT goes straight to the object store (the embedded /api/objects/{key} or S3), without
 * our bearer token.
 */
import { api, unwrap } from '../../../api/client';
import { ApiError, problemToError } from '../../../api/errors';
import type { components } from '../../../api/schema';

export type FileDto = components['schemas']['FileDto'];
export type FileType = components['schemas']['FileTypeDto'];

/** Headers a browser sets itself and refuses from scripts. */
const FORBIDDEN = new Set(['content-length', 'host', 'connection']);

export async function uploadFile(
  file: File,
  fileType: FileType,
  orgUnitId?: number | null,
): Promise<FileDto> {
  const started = await unwrap(
    api.POST('/api/files/uploads', {
      body: {
        file_type: fileType,
        original_name: file.name || 'file',
        content_type: file.type || 'application/octet-stream',
        size: file.size,
        org_unit_id: orgUnitId ?? null,
      },
    }),
  );
  const headers = new Headers();
  for (const [name, value] of Object.entries(started.upload_headers)) {
    if (!FORBIDDEN.has(name.toLowerCase())) headers.set(name, value);
  }
  let put: Response;
  try {
    put = await fetch(started.upload_url, { method: started.upload_method, headers, body: file });
  } catch (error) {
    throw new ApiError({ status: 0, code: 'network_error', detail: String(error) });
  }
  if (!put.ok) throw await problemToError(put);
  return unwrap(api.POST('/api/files/{id}/complete', { params: { path: { id: started.file.id } } }));
}
