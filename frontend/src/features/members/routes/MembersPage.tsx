import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useRoles } from '../../../auth';
import { ConfirmDialog, Modal } from '../../../components/ConfirmDialog';
import { DataTable, type Column } from '../../../components/DataTable';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { OrgUnitPicker } from '../../../components/OrgUnitPicker';
import { Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { useFormat } from '../../../lib/format';
import { useDebounced } from '../../../lib/useDebounced';
import { unitName, useOrgUnits } from '../../org/api/orgUnits';
import { MEMBER_STATUSES, useDeleteMember, useMembers, type Member, type MemberQuery, type MemberStatus } from '../api/members';
import { MemberAvatar, StatusBadge } from '../components/MemberAvatar';
import { MemberForm } from '../components/MemberForm';

const SORTS = ['id', 'name', '-name', 'joined_on', '-joined_on'] as const;
type Sort = (typeof SORTS)[number];
const PER_PAGE = 20;

export function MembersPage() {
  const { t } = useTranslation('members');
  const { t: tc } = useTranslation();
  const f = useFormat();
  const roles = useRoles();
  const units = useOrgUnits();
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get('page')) || 1);
  const status = (MEMBER_STATUSES as string[]).includes(params.get('status') ?? '') ? (params.get('status') as MemberStatus) : undefined;
  const unitId = Number(params.get('unit')) || null;
  const sort: Sort = (SORTS as readonly string[]).includes(params.get('sort') ?? '') ? (params.get('sort') as Sort) : 'name';
  const [search, setSearch] = useState(params.get('q') ?? '');
  const q = useDebounced(search.trim(), 300);

  function update(changes: Record<string, string | null>) {
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(changes)) {
          if (v === null || v === '') next.delete(k);
          else next.set(k, v);
        }
        if (!('page' in changes)) next.delete('page');
        return next;
      },
      { replace: true },
    );
  }

  useEffect(() => {
    if ((params.get('q') ?? '') !== q) update({ q: q || null });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q]);

  const query: MemberQuery = {
    page,
    per_page: PER_PAGE,
    ...(q ? { q: q.slice(0, 100) } : {}),
    ...(status ? { status } : {}),
    ...(unitId ? { org_unit_id: unitId } : {}),
    ...(sort !== 'id' ? { sort } : {}),
  };
  const members = useMembers(query);
  const remove = useDeleteMember();
  const [editing, setEditing] = useState<Member | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Member | null>(null);
  const canWrite = roles.isAdmin || roles.hasUnit;
  const defaultCell = units.data?.find((u) => u.id === roles.orgUnitId && u.kind === 'cell')?.id ?? null;
  const filtered = Boolean(q || status || unitId);

  const columns: Column<Member>[] = [
    {
      key: 'name',
      header: t('columns.name'),
      render: (m) => (
        <div className="person">
          <MemberAvatar member={m} />
          <div style={{ minWidth: 0 }}>
            <div className="person__name">{m.name}</div>
            {m.email ? <div className="muted small">{m.email}</div> : null}
          </div>
        </div>
      ),
    },
    { key: 'unit', header: t('columns.unit'), render: (m) => unitName(units.data, m.org_unit_id), hideOnPhone: true },
    { key: 'status', header: t('columns.status'), render: (m) => <StatusBadge status={m.status} /> },
    { key: 'joined', header: t('columns.joined'), render: (m) => <span className="nowrap">{f.date(m.joined_on)}</span>, hideOnPhone: true },
    {
      key: 'actions',
      header: <span className="sr-only">{t('columns.actions')}</span>,
      align: 'right',
      render: (m) =>
        canWrite ? (
          <div className="row-actions">
            <button type="button" className="btn btn--ghost btn--small" onClick={() => setEditing(m)} aria-label={`${tc('actions.edit')} ${m.name}`}>
              {tc('actions.edit')}
            </button>
          </div>
        ) : null,
    },
  ];

  return (
    <Page
      title={t('title')}
      subtitle={t('subtitle')}
      actions={
        canWrite ? (
          <button type="button" className="btn btn--primary" onClick={() => setEditing('new')}>
            <Icon name="plus" /> {t('new')}
          </button>
        ) : null
      }
    >
      <div className="card toolbar" role="search">
        <FormField label={tc('actions.search')}>
          {(p) => (
            <input
              {...p}
              className="input"
              type="search"
              placeholder={t('search')}
              value={search}
              maxLength={100}
              onChange={(e) => setSearch(e.target.value)}
            />
          )}
        </FormField>
        <FormField label={t('unit')}>
          {(p) => <OrgUnitPicker {...p} value={unitId} onChange={(id) => update({ unit: id ? String(id) : null })} allLabel={tc('orgUnit.all')} />}
        </FormField>
        <FormField label={t('status')}>
          {(p) => (
            <select {...p} className="input" value={status ?? ''} onChange={(e) => update({ status: e.target.value || null })}>
              <option value="">{t('anyStatus')}</option>
              {MEMBER_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`statuses.${s}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label={t('sort')}>
          {(p) => (
            <select {...p} className="input" value={sort} onChange={(e) => update({ sort: e.target.value })}>
              {SORTS.map((s) => (
                <option key={s} value={s}>
                  {t(`sortBy.${s}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
      </div>

      {members.isPending ? (
        <Loading />
      ) : members.isError ? (
        <ErrorMessage error={members.error} onRetry={() => void members.refetch()} />
      ) : members.data.items.length === 0 ? (
        filtered ? (
          <EmptyState
            title={t('noMatch')}
            hint={t('noMatchHint')}
            action={
              <button
                type="button"
                className="btn"
                onClick={() => {
                  setSearch('');
                  update({ q: null, status: null, unit: null });
                }}
              >
                {tc('actions.clear')}
              </button>
            }
          />
        ) : (
          <EmptyState />
        )
      ) : (
        <>
          <DataTable caption={t('title')} columns={columns} rows={members.data.items} rowKey={(m) => m.id} />
          <Pagination page={page} perPage={PER_PAGE} total={members.data.total} onPage={(p) => update({ page: String(p) })} />
        </>
      )}

      <Modal open={editing !== null} title={editing === 'new' ? t('new') : t('edit')} onClose={() => setEditing(null)}>
        {editing !== null ? (
          <>
            <MemberForm
              member={editing === 'new' ? null : editing}
              defaultUnitId={defaultCell}
              onDone={() => setEditing(null)}
              onCancel={() => setEditing(null)}
            />
            {editing !== 'new' ? (
              <div className="form__actions" style={{ justifyContent: 'flex-start', marginTop: 12 }}>
                <button
                  type="button"
                  className="btn btn--ghost btn--small"
                  onClick={() => {
                    setDeleting(editing);
                    setEditing(null);
                  }}
                >
                  <Icon name="trash" /> {t('delete')}
                </button>
              </div>
            ) : null}
          </>
        ) : null}
      </Modal>
      <ConfirmDialog
        open={deleting !== null}
        title={t('delete')}
        danger
        busy={remove.isPending}
        confirmLabel={tc('actions.delete')}
        onCancel={() => {
          setDeleting(null);
          remove.reset();
        }}
        onConfirm={() => {
          if (deleting) remove.mutate(deleting.id, { onSuccess: () => setDeleting(null) });
        }}
      >
        <p>{deleting ? t('deleteConfirm', { name: deleting.name }) : null}</p>
        {remove.isError ? <ErrorMessage error={remove.error} /> : null}
      </ConfirmDialog>
    </Page>
  );
}
