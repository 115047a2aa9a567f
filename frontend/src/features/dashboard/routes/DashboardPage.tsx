import { useTranslation } from 'react-i18next';
import { EmptyState } from '../../../components/EmptyState';
import { Page } from '../../../components/Page';

export function DashboardPage() {
  const { t } = useTranslation('dashboard');
  return (
    <Page title={t('title')}>
      <EmptyState />
    </Page>
  );
}
