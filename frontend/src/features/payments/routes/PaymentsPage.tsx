import { useTranslation } from 'react-i18next';
import { EmptyState } from '../../../components/EmptyState';
import { Page } from '../../../components/Page';

export function PaymentsPage() {
  const { t } = useTranslation('payments');
  return (
    <Page title={t('title')}>
      <EmptyState />
    </Page>
  );
}
