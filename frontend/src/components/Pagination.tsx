import { useTranslation } from 'react-i18next';
import { Icon } from './Icon';

export function Pagination({
  page,
  perPage,
  total,
  onPage,
}: {
  page: number;
  perPage: number;
  total: number;
  onPage: (page: number) => void;
}) {
  const { t } = useTranslation();
  const pages = Math.max(1, Math.ceil(total / perPage));
  return (
    <nav className="pagination" aria-label={t('table.pageOf', { page, pages })}>
      <span className="muted">{t('table.total', { count: total })}</span>
      <div className="pagination__buttons">
        <button
          type="button"
          className="btn btn--ghost btn--icon"
          onClick={() => onPage(page - 1)}
          disabled={page <= 1}
          aria-label={t('table.previous')}
        >
          <Icon name="chevronLeft" />
        </button>
        <span aria-live="polite">{t('table.pageOf', { page, pages })}</span>
        <button
          type="button"
          className="btn btn--ghost btn--icon"
          onClick={() => onPage(page + 1)}
          disabled={page >= pages}
          aria-label={t('table.next')}
        >
          <Icon name="chevronRight" />
        </button>
      </div>
    </nav>
  );
}
