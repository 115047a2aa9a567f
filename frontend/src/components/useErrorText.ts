import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/errors';

/** The message of an error in the user's language: by problem `code`, else the server's detail. */
export function useErrorText(): (error: unknown) => string {
  const { t, i18n } = useTranslation('errors');
  return (error: unknown) => {
    if (error instanceof ApiError) {
      if (i18n.exists(error.code, { ns: 'errors' })) return t(error.code);
      return error.detail;
    }
    if (error instanceof Error) return error.message;
    return String(error);
  };
}

