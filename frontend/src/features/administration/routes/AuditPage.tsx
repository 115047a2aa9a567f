import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { DataTable } from '../../../components/DataTable';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Loading } from '../../../components/Loading';
import { Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { AUDIT_ACTIONS, useAllUsers, useAudit, type AuditAction, type AuditEvent } from '../api/admin';
import { AdminOnly } from '../components/AdminOnly';
import '../admin.css';

const PER_PAGE = 25;

const DANGER: AuditAction[] = ['login_failed', 'rate_limited', 'refresh_token_reused', 'user_deleted', 'member_deleted', 'dues_deleted', 'payment_deleted'];
const OK: AuditAction[] = ['login_succeeded', 'otp_enabled', 'user_created', 'token_created'];

function badgeOf(action: AuditAction): string {
  if (DANGER.includes(action)) return 'badge badge--danger';
  if (OK.includes(action)) return 'badge badge--ok';
  return 'badge badge--info';
}

function detailText(detail: AuditEvent['detail']): string {
  const entries = Object.entries(detail as Record<string, unknown>);
  if (entries.length === 0) return '';
  return entries.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n');
}

export function AuditPage() {
  const { t } = useTranslation('administration');
  return (
    <AdminOnly title={t('audit.title')}>
      <AuditPageContent />
    </AdminOnly>
  );
}

function AuditPageContent() {
  const { t, i18n } = useTranslation('administration');
  const [action, setAction] = useState<AuditAction | null>(null);
  const [userId, setUserId] = useState<number | null>(null);
  const [page, setPage] = useState(1);
  const audit = useAudit({ action, userId, page, perPage: PER_PAGE });
  const users = useAllUsers();
  const userName = (id: number | null | undefined) =>
    id == null ? '—' : (users.data?.items.find((u) => u.id === id)?.name ?? `#${id}`);
  const when = (iso: string) =>
    new Date(iso).toLocaleString(i18n.language, { dateStyle: 'short', timeStyle: 'medium' });

  return (
    <Page title={t('audit.title')} subtitle={t('audit.subtitle')}>
      <div className="toolbar">
        <FormField label={t('audit.action')}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={action ?? ''}
              onChange={(e) => {
                setAction((e.target.value || null) as AuditAction | null);
                setPage(1);
              }}
            >
              <option value="">{t('audit.allActions')}</option>
              {AUDIT_ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {t(`audit.actions.${a}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label={t('audit.user')}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={userId ?? ''}
              onChange={(e) => {
                setUserId(e.target.value ? Number(e.target.value) : null);
                setPage(1);
              }}
            >
              <option value="">{t('audit.allUsers')}</option>
              {(users.data?.items ?? []).map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          )}
        </FormField>
      </div>
      {audit.isPending ? (
        <Loading />
      ) : audit.isError ? (
        <ErrorMessage error={audit.error} onRetry={() => void audit.refetch()} />
      ) : audit.data.items.length === 0 ? (
        <EmptyState />
      ) : (
        <>
          <div className="table-scroll">
            <DataTable
              caption={t('audit.caption')}
              rows={audit.data.items}
              rowKey={(e) => e.id}
              columns={[
                { key: 'at', header: t('audit.at'), render: (e) => <span className="nowrap">{when(e.at)}</span> },
                { key: 'action', header: t('audit.action'), render: (e) => <span className={badgeOf(e.action)}>{t(`audit.actions.${e.action}`)}</span> },
                { key: 'actor', header: t('audit.actor'), render: (e) => userName(e.actor_user_id) },
                { key: 'subject', header: t('audit.subject'), hideOnPhone: true, render: (e) => (e.subject ? <code>{e.subject}</code> : '—') },
                { key: 'ip', header: t('audit.ip'), hideOnPhone: true, render: (e) => <span className="mono">{e.client_ip ?? '—'}</span> },
                {
                  key: 'detail',
                  header: t('audit.detail'),
                  hideOnPhone: true,
                  render: (e) => <pre className="detail-json mono">{detailText(e.detail)}</pre>,
                },
              ]}
            />
          </div>
          <Pagination page={page} perPage={PER_PAGE} total={audit.data.total} onPage={setPage} />
        </>
      )}
    </Page>
  );
}
