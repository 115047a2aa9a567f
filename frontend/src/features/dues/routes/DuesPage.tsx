import { useTranslation } from 'react-i18next';
import { EmptyState } from '../../../components/EmptyState';
import { Page } from '../../../components/Page';

export function DuesPage() {
  const { t } = useTranslation('dues');
  return (
    <Page title={t('title')}>
      <EmptyState />
    </Page>
  );
}
