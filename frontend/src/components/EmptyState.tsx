import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Icon } from './Icon';

export function EmptyState({ title, hint, action }: { title?: string; hint?: string; action?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="empty-state" role="status">
      <span className="empty-state__icon">
        <Icon name="inbox" size={28} />
      </span>
      <p className="empty-state__title">{title ?? t('state.empty')}</p>
      <p className="muted">{hint ?? t('state.emptyHint')}</p>
      {action}
    </div>
  );
}
