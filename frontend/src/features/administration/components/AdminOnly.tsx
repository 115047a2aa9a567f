import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useRoles } from '../../../auth';
import { Icon } from '../../../components/Icon';
import { Page } from '../../../components/Page';

/**
 * The administration pages are only in the admins' menu; someone else who opens one by its
 * address gets this message instead of a page of 403 answers.
 */
export function AdminOnly({ title, children }: { title: string; children: ReactNode }) {
  const { t } = useTranslation('errors');
  const { isAdmin } = useRoles();
  if (isAdmin) return children;
  return (
    <Page title={title}>
      <div className="error-box" role="alert">
        <Icon name="alert" />
        <p className="error-box__text">{t('admin_required')}</p>
      </div>
    </Page>
  );
}
