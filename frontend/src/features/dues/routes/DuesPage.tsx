import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { ConfirmDialog, Modal } from '../../../components/ConfirmDialog';
import { DataTable, type Column } from '../../../components/DataTable';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { useRoles } from '../../../auth';
import { useFormat } from '../../../lib/format';
import { useMembersById } from '../../members/api/members';
import { PaymentForm } from '../../payments/components/PaymentForm';
import { DUES_STATUSES, useDuesList, useSetDuesStatus, type Dues, type DuesStatus } from '../api/dues';
import { GenerateDuesForm } from '../components/GenerateDuesForm';

const PER_PAGE = 20;

export function DuesBadge({ dues }: { dues: Dues }) {
  const { t } = useTranslation('dues');
  const tone = dues.status === 'paid' ? 'badge--ok' : dues.status === 'waived' ? '' : dues.overdue ? 'badge--danger' : 'badge--info';
  return (
    <span className={`badge ${tone}`}>
      {dues.status === 'open' && dues.overdue ? t('overdue') : t(`statuses.${dues.status}`)}
    </span>
  );
}

export function DuesPage() {
  const { t } = useTranslation('dues');
  const roles = useRoles();
  const canWrite = roles.isAdmin || roles.hasUnit || roles.isTreasurer;
  const f = useFormat();
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get('page')) || 1);
  const period = /^\d{4}-(0[1-9]|1[0-2])$/.test(params.get('period') ?? '') ? (params.get('period') as string) : '';
  const status = (DUES_STATUSES as string[]).includes(params.get('status') ?? '') ? (params.get('status') as DuesStatus) : undefined;
  const list = useDuesList({ page, per_page: PER_PAGE, ...(period ? { period } : {}), ...(status ? { status } : {}) });
  const members = useMembersById(list.data?.items.map((d) => d.member_id) ?? []);
  const setStatus = useSetDuesStatus();
  const [generating, setGenerating] = useState(false);
  const [paying, setPaying] = useState<Dues | null>(null);
  const [waiving, setWaiving] = useState<Dues | null>(null);

  function update(changes: Record<string, string | null>) {
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(changes)) {
          if (!v) next.delete(k);
          else next.set(k, v);
        }
        if (!('page' in changes)) next.delete('page');
        return next;
      },
      { replace: true },
    );
  }

  const memberName = (id: number) => members.get(id)?.name ?? `#${id}`;
  const columns: Column<Dues>[] = [
    { key: 'member', header: t('columns.member'), render: (d) => <span className="person__name">{memberName(d.member_id)}</span> },
    { key: 'period', header: t('columns.period'), render: (d) => <span className="nowrap">{f.month(d.period)}</span> },
    { key: 'amount', header: t('columns.amount'), align: 'right', render: (d) => <span className="money">{f.money(d.amount_cents, d.currency)}</span> },
    { key: 'due', header: t('columns.dueDate'), render: (d) => <span className="nowrap">{f.date(d.due_date)}</span>, hideOnPhone: true },
    { key: 'status', header: t('columns.status'), render: (d) => <DuesBadge dues={d} /> },
    {
      key: 'actions',
      header: <span className="sr-only">{t('columns.actions')}</span>,
      align: 'right',
      render: (d) =>
        canWrite ? (
        <div className="row-actions">
          {d.status === 'open' ? (
            <>
              <button type="button" className="btn btn--small btn--primary" onClick={() => setPaying(d)}>
                {t('pay')}
              </button>
              <button type="button" className="btn btn--small btn--ghost" onClick={() => setWaiving(d)}>
                {t('waive')}
              </button>
            </>
          ) : d.status === 'waived' ? (
            <button
              type="button"
              className="btn btn--small btn--ghost"
              disabled={setStatus.isPending}
              onClick={() => setStatus.mutate({ id: d.id, status: 'open' })}
            >
              {t('reopen')}
            </button>
          ) : null}
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
          <button type="button" className="btn btn--primary" onClick={() => setGenerating(true)}>
            <Icon name="plus" /> {t('generate')}
          </button>
        ) : null
      }
    >
      <div className="card toolbar">
        <FormField label={t('period')}>
          {(p) => <input {...p} className="input" type="month" value={period} onChange={(e) => update({ period: e.target.value || null })} />}
        </FormField>
        <FormField label={t('status')}>
          {(p) => (
            <select {...p} className="input" value={status ?? ''} onChange={(e) => update({ status: e.target.value || null })}>
              <option value="">{t('anyStatus')}</option>
              {DUES_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`statuses.${s}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
      </div>
      {setStatus.isError ? <ErrorMessage error={setStatus.error} /> : null}
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorMessage error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        period || status ? <EmptyState title={t('noMatch')} /> : <EmptyState />
      ) : (
        <>
          <DataTable caption={t('title')} columns={columns} rows={list.data.items} rowKey={(d) => d.id} />
          <Pagination page={page} perPage={PER_PAGE} total={list.data.total} onPage={(p) => update({ page: String(p) })} />
        </>
      )}
      <Modal open={generating} title={t('generate')} onClose={() => setGenerating(false)}>
        <GenerateDuesForm onClose={() => setGenerating(false)} />
      </Modal>
      <Modal
        open={paying !== null}
        title={paying ? `${t('pay')} · ${memberName(paying.member_id)}` : t('pay')}
        onClose={() => setPaying(null)}
      >
        {paying ? <PaymentForm dues={paying} onDone={() => setPaying(null)} onCancel={() => setPaying(null)} /> : null}
      </Modal>
      <ConfirmDialog
        open={waiving !== null}
        title={t('waive')}
        busy={setStatus.isPending}
        confirmLabel={t('waive')}
        onCancel={() => setWaiving(null)}
        onConfirm={() => {
          if (waiving) setStatus.mutate({ id: waiving.id, status: 'waived' }, { onSettled: () => setWaiving(null) });
        }}
      >
        <p>{waiving ? t('waiveConfirm', { period: f.monthLong(waiving.period), name: memberName(waiving.member_id) }) : null}</p>
      </ConfirmDialog>
    </Page>
  );
}
