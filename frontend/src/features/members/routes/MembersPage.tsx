import { useTranslation } from 'react-i18next';
import { EmptyState } from '../../../components/EmptyState';
import { Page } from '../../../components/Page';

export function MembersPage() {
  const { t } = useTranslation('members');
  return (
    <Page title={t('title')}>
      <EmptyState />
    </Page>
  );
}
