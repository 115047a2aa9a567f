import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { components } from '../../../api/schema';
import { DataTable, type Column } from '../../../components/DataTable';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Loading';
import { Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { unitName, useOrgUnits } from '../../org/api/orgUnits';
import { useUsers } from '../api/admin';

type User = components['schemas']['UserDto'];

export function UsersPage() {
  const { t } = useTranslation('admin');
  const [page, setPage] = useState(1);
  const users = useUsers(page);
  const units = useOrgUnits();
  const columns: Column<User>[] = [
    {
      key: 'name',
      header: t('users.columns.name'),
      render: (u) => (
        <div>
          <div className="person__name">{u.name}</div>
          <div className="muted small">{u.email}</div>
        </div>
      ),
    },
    { key: 'unit', header: t('users.columns.unit'), render: (u) => unitName(units.data, u.org_unit_id), hideOnPhone: true },
    {
      key: 'roles',
      header: t('users.columns.roles'),
      render: (u) => (
        <div className="row-actions" style={{ justifyContent: 'flex-start' }}>
          {u.is_admin ? <span className="badge badge--info">{t('users.admin')}</span> : null}
          {u.is_treasurer ? <span className="badge badge--ok">{t('users.treasurer')}</span> : null}
        </div>
      ),
    },
    {
      key: 'status',
      header: t('users.columns.status'),
      hideOnPhone: true,
      render: (u) => (
        <span className={u.is_active ? 'badge badge--ok' : 'badge'}>{u.is_active ? t('users.active') : t('users.inactive')}</span>
      ),
    },
    {
      key: 'otp',
      header: t('users.columns.otp'),
      hideOnPhone: true,
      render: (u) => (u.otp_enabled ? <span className="badge badge--info">{t('users.otpOn')}</span> : <span className="muted">{t('users.otpOff')}</span>),
    },
  ];
  return (
    <Page title={t('users.title')} subtitle={t('users.subtitle')}>
      {users.isPending ? (
        <Loading />
      ) : users.isError ? (
        <ErrorMessage error={users.error} onRetry={() => void users.refetch()} />
      ) : users.data.items.length === 0 ? (
        <EmptyState />
      ) : (
        <>
          <DataTable caption={t('users.title')} columns={columns} rows={users.data.items} rowKey={(u) => u.id} />
          <Pagination page={page} perPage={50} total={users.data.total} onPage={setPage} />
        </>
      )}
    </Page>
  );
}
