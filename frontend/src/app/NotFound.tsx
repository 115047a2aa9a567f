import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { EmptyState } from '../components/EmptyState';
import { Page } from '../components/Page';

export function NotFound() {
  const { t } = useTranslation();
  return (
    <Page title={t('notFound.title')}>
      <EmptyState
        title={t('notFound.title')}
        hint={t('notFound.body')}
        action={
          <Link className="btn btn--primary" to="/">
            {t('notFound.home')}
          </Link>
        }
      />
    </Page>
  );
}
