import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, toSupported } from '../i18n';

export function LanguageSwitcher() {
  const { t, i18n } = useTranslation();
  const id = useId();
  return (
    <div className="lang-switch">
      <label htmlFor={id} className="sr-only">
        {t('language.label')}
      </label>
      <select
        id={id}
        className="input input--small"
        value={toSupported(i18n.resolvedLanguage ?? i18n.language)}
        onChange={(e) => void i18n.changeLanguage(e.target.value)}
        data-testid="language-switcher"
      >
        {LANGUAGES.map((lng) => (
          <option key={lng} value={lng}>
            {t(`language.${lng}`)}
          </option>
        ))}
      </select>
    </div>
  );
}
