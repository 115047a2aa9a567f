import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Icon } from '../../../components/Icon';

/**
 * A secret shown once (a new API token): the warning, the value, a copy button. The parent
 * drops the secret when `onDone` is called, so it is never shown again.
 */
export function SecretOnce({ secret, onDone }: { secret: string; onDone: () => void }) {
  const { t } = useTranslation('administration');
  const [copy, setCopy] = useState<'idle' | 'copied' | 'failed'>('idle');
  async function onCopy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopy('copied');
    } catch {
      setCopy('failed');
    }
  }
  return (
    <div className="secret">
      <p className="notice" role="alert">
        {t('tokens.secretWarning')}
      </p>
      <span className="field__label" id="token-secret-label">
        {t('tokens.secretLabel')}
      </span>
      <div className="secret__row">
        <code className="secret__value" aria-labelledby="token-secret-label" data-testid="token-secret">
          {secret}
        </code>
        <button type="button" className="btn" onClick={() => void onCopy()}>
          <Icon name={copy === 'copied' ? 'check' : 'copy'} /> {copy === 'copied' ? t('tokens.copied') : t('tokens.copy')}
        </button>
      </div>
      <div aria-live="polite">{copy === 'failed' ? <p className="field__error">{t('tokens.copyFailed')}</p> : null}</div>
      <div className="form__actions">
        <button type="button" className="btn btn--primary" onClick={onDone}>
          {t('tokens.done')}
        </button>
      </div>
    </div>
  );
}
