import type { components } from './schema';

export type Problem = components['schemas']['Problem'];
export type ErrorCode = components['schemas']['ErrorCode'];
export type FieldProblem = components['schemas']['FieldProblem'];

/** Codes the client itself produces when there is no problem+json answer. */
export type ClientErrorCode = 'network_error' | 'unknown_error';

/** Any non-2xx answer of the API (or a failed fetch), typed from its problem+json body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | ClientErrorCode;
  readonly detail: string;
  readonly fieldErrors: FieldProblem[];
  readonly requestId: string | null;
  readonly problem: Problem | null;

  constructor(init: {
    status: number;
    code: ErrorCode | ClientErrorCode;
    detail: string;
    fieldErrors?: FieldProblem[];
    requestId?: string | null;
    problem?: Problem | null;
  }) {
    super(init.detail);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.fieldErrors = init.fieldErrors ?? [];
    this.requestId = init.requestId ?? null;
    this.problem = init.problem ?? null;
  }

  /** The message of the first field error for `field`, if any. */
  fieldError(field: string): string | undefined {
    return this.fieldErrors.find((f) => f.field === field)?.message;
  }
}

function isProblem(value: unknown): value is Problem {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { status?: unknown }).status === 'number'
  );
}

/** Reads a failed response (problem+json or not) into an ApiError. Does not consume `response`. */
export async function problemToError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  let text = '';
  try {
    text = await response.clone().text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (isProblem(body)) {
    return new ApiError({
      status: response.status,
      code: body.code,
      detail: body.detail,
      fieldErrors: body.errors ?? [],
      requestId: body.request_id ?? response.headers.get('x-request-id'),
      problem: body,
    });
  }
  return new ApiError({
    status: response.status,
    code: 'unknown_error',
    detail: text.slice(0, 300) || response.statusText || `HTTP ${response.status}`,
    requestId: response.headers.get('x-request-id'),
  });
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}
