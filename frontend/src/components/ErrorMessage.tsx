import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/errors';
import { Icon } from './Icon';
import { useErrorText } from './useErrorText';

export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const text = useErrorText();
  const requestId = error instanceof ApiError ? error.requestId : null;
  return (
    <div className="error-box" role="alert">
      <Icon name="alert" />
      <div>
        <p className="error-box__text">{text(error)}</p>
        {requestId ? <p className="muted small">{t('requestId', { id: requestId })}</p> : null}
        {onRetry ? (
          <button type="button" className="btn btn--small" onClick={onRetry}>
            {t('actions.retry')}
          </button>
        ) : null}
      </div>
    </div>
  );
}
