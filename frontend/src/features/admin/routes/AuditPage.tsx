import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '../../../api/schema';
import { DataTable, type Column } from '../../../components/DataTable';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Loading';
import { Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { useFormat } from '../../../lib/format';
import { useAudit } from '../api/admin';

type AuditEvent = components['schemas']['AuditEventDto'];

export function AuditPage() {
  const { t } = useTranslation('admin');
  const f = useFormat();
  const [page, setPage] = useState(1);
  const audit = useAudit(page);
  const columns: Column<AuditEvent>[] = [
    { key: 'at', header: t('audit.columns.at'), render: (e) => <span className="nowrap">{f.dateTime(e.at)}</span> },
    { key: 'action', header: t('audit.columns.action'), render: (e) => <code>{e.action}</code> },
    { key: 'actor', header: t('audit.columns.actor'), render: (e) => (e.actor_user_id != null ? `#${e.actor_user_id}` : '—') },
    { key: 'subject', header: t('audit.columns.subject'), render: (e) => e.subject ?? '—', hideOnPhone: true },
    { key: 'ip', header: t('audit.columns.ip'), render: (e) => e.client_ip ?? '—', hideOnPhone: true },
  ];
  return (
    <Page title={t('audit.title')} subtitle={t('audit.subtitle')}>
      {audit.isPending ? (
        <Loading />
      ) : audit.isError ? (
        <ErrorMessage error={audit.error} onRetry={() => void audit.refetch()} />
      ) : audit.data.items.length === 0 ? (
        <EmptyState />
      ) : (
        <>
          <DataTable caption={t('audit.title')} columns={columns} rows={audit.data.items} rowKey={(e) => e.id} />
          <Pagination page={page} perPage={50} total={audit.data.total} onPage={setPage} />
        </>
      )}
    </Page>
  );
}
