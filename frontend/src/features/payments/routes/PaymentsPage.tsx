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
import { PURPOSES, useDeletePayment, usePayments, type Payment, type Purpose } from '../api/payments';
import { PaymentForm } from '../components/PaymentForm';

const PER_PAGE = 20;
const PURPOSE_TONE: Record<Purpose, string> = { dues: 'badge--info', material: 'badge--ok', donation: 'badge--warn' };

export function PaymentsPage() {
  const { t } = useTranslation('payments');
  const { t: tc } = useTranslation();
  const f = useFormat();
  const roles = useRoles();
  const canWrite = roles.isAdmin || roles.hasUnit || roles.isTreasurer;
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get('page')) || 1);
  const purpose = (PURPOSES as string[]).includes(params.get('purpose') ?? '') ? (params.get('purpose') as Purpose) : undefined;
  const list = usePayments({ page, per_page: PER_PAGE, ...(purpose ? { purpose } : {}) });
  const members = useMembersById(list.data?.items.map((p) => p.member_id) ?? []);
  const remove = useDeletePayment();
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Payment | null>(null);

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

  const columns: Column<Payment>[] = [
    {
      key: 'member',
      header: t('columns.member'),
      render: (p) => <span className="person__name">{members.get(p.member_id)?.name ?? `#${p.member_id}`}</span>,
    },
    {
      key: 'purpose',
      header: t('columns.purpose'),
      render: (p) => <span className={`badge ${PURPOSE_TONE[p.purpose]}`}>{t(`purposes.${p.purpose}`)}</span>,
    },
    { key: 'amount', header: t('columns.amount'), align: 'right', render: (p) => <span className="money">{f.money(p.amount_cents, p.currency)}</span> },
    { key: 'method', header: t('columns.method'), render: (p) => t(`methods.${p.method}`), hideOnPhone: true },
    { key: 'paidOn', header: t('columns.paidOn'), render: (p) => <span className="nowrap">{f.date(p.paid_on)}</span>, hideOnPhone: true },
    {
      key: 'receipt',
      header: t('columns.receipt'),
      hideOnPhone: true,
      render: (p) => (p.receipt_file_id ? <span className="badge badge--ok">{t('hasReceipt')}</span> : <span className="muted">—</span>),
    },
    {
      key: 'actions',
      header: <span className="sr-only">{t('columns.actions')}</span>,
      align: 'right',
      render: (p) =>
        canWrite ? (
        <button
          type="button"
          className="btn btn--ghost btn--small"
          onClick={() => setDeleting(p)}
          aria-label={`${tc('actions.delete')} #${p.id}`}
        >
          <Icon name="trash" />
        </button>
        ) : null,
    },
  ];

  return (
    <Page
      title={t('title')}
      subtitle={t('subtitle')}
      actions={
        canWrite ? (
          <button type="button" className="btn btn--primary" onClick={() => setCreating(true)}>
            <Icon name="plus" /> {t('new')}
          </button>
        ) : null
      }
    >
      <div className="card toolbar">
        <FormField label={t('purpose')}>
          {(p) => (
            <select {...p} className="input" value={purpose ?? ''} onChange={(e) => update({ purpose: e.target.value || null })}>
              <option value="">{t('anyPurpose')}</option>
              {PURPOSES.map((x) => (
                <option key={x} value={x}>
                  {t(`purposes.${x}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorMessage error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <EmptyState />
      ) : (
        <>
          <DataTable caption={t('title')} columns={columns} rows={list.data.items} rowKey={(p) => p.id} />
          <Pagination page={page} perPage={PER_PAGE} total={list.data.total} onPage={(p) => update({ page: String(p) })} />
        </>
      )}
      <Modal open={creating} title={t('new')} onClose={() => setCreating(false)}>
        <PaymentForm onDone={() => setCreating(false)} onCancel={() => setCreating(false)} />
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
        <p>{deleting ? t('deleteConfirm', { amount: f.money(deleting.amount_cents, deleting.currency) }) : null}</p>
        {remove.isError ? <ErrorMessage error={remove.error} /> : null}
      </ConfirmDialog>
    </Page>
  );
}
