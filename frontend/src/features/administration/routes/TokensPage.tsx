import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../../api/errors';
import { ConfirmDialog, Modal } from '../../../components/ConfirmDialog';
import { DataTable } from '../../../components/DataTable';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { Page } from '../../../components/Page';
import { SCOPES, useTokenMutations, useTokens, type ApiToken, type CreatedToken, type Scope } from '../api/admin';
import { SecretOnce } from '../components/SecretOnce';
import { AdminOnly } from '../components/AdminOnly';
import '../admin.css';

function CreateTokenForm({ onCreated, onCancel }: { onCreated: (token: CreatedToken) => void; onCancel: () => void }) {
  const { t } = useTranslation('administration');
  const { t: tc } = useTranslation();
  const { create } = useTokenMutations();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['read']);
  const [days, setDays] = useState('90');
  const [touched, setTouched] = useState(false);
  const error = create.error instanceof ApiError ? create.error : null;

  function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (scopes.length === 0) return;
    create.mutate(
      { name: name.trim(), scopes, expires_in_days: days ? Number(days) : null },
      { onSuccess: onCreated },
    );
  }

  return (
    <form className="form" onSubmit={submit} noValidate={false}>
      <FormField label={t('tokens.name')} hint={t('tokens.nameHint')} required error={error?.fieldError('name')}>
        {(p) => <input {...p} className="input" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />}
      </FormField>
      <fieldset className="checkbox-group" aria-describedby={touched && scopes.length === 0 ? 'scopes-error' : undefined}>
        <legend>{t('tokens.scopes')}</legend>
        {SCOPES.map((s) => (
          <div key={s}>
            <label className="checkbox">
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes((cur) => (e.target.checked ? [...cur, s] : cur.filter((x) => x !== s)))}
              />
              {t(`tokens.scope.${s}`)} <code className="muted small">{s}</code>
            </label>
            <p className="muted small">{t(`tokens.scopeHint.${s}`)}</p>
          </div>
        ))}
        {touched && scopes.length === 0 ? (
          <p id="scopes-error" className="field__error">
            {t('tokens.noScopes')}
          </p>
        ) : null}
      </fieldset>
      <FormField label={t('tokens.expiresIn')} hint={t('tokens.expiresHint')} error={error?.fieldError('expires_in_days')}>
        {(p) => (
          <input {...p} className="input" type="number" min={1} max={365} value={days} onChange={(e) => setDays(e.target.value)} />
        )}
      </FormField>
      {create.error && !error?.fieldErrors.length ? <ErrorMessage error={create.error} /> : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button type="submit" className="btn btn--primary" disabled={create.isPending}>
          {tc('actions.create')}
        </button>
      </div>
    </form>
  );
}

export function TokensPage() {
  const { t } = useTranslation('administration');
  return (
    <AdminOnly title={t('tokens.title')}>
      <TokensPageContent />
    </AdminOnly>
  );
}

function TokensPageContent() {
  const { t, i18n } = useTranslation('administration');
  const tokens = useTokens();
  const { revoke } = useTokenMutations();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const date = (iso: string) => new Date(iso).toLocaleDateString(i18n.language, { dateStyle: 'medium' });
  const [now] = useState(() => Date.now());

  return (
    <Page
      title={t('tokens.title')}
      subtitle={t('tokens.subtitle')}
      actions={
        <button type="button" className="btn btn--primary" onClick={() => setCreating(true)}>
          <Icon name="plus" /> {t('tokens.new')}
        </button>
      }
    >
      <div aria-live="polite">{notice ? <p className="notice notice--ok">{notice}</p> : null}</div>
      {tokens.isPending ? (
        <Loading />
      ) : tokens.isError ? (
        <ErrorMessage error={tokens.error} onRetry={() => void tokens.refetch()} />
      ) : tokens.data.items.length === 0 ? (
        <EmptyState title={t('tokens.empty')} />
      ) : (
        <div className="table-scroll">
          <DataTable
            caption={t('tokens.caption')}
            rows={tokens.data.items}
            rowKey={(r) => r.id}
            columns={[
              { key: 'name', header: t('tokens.name'), render: (r) => <strong>{r.name}</strong> },
              {
                key: 'scopes',
                header: t('tokens.scopes'),
                render: (r) => (
                  <span className="row-actions" style={{ justifyContent: 'flex-start' }}>
                    {r.scopes.map((s) => (
                      <span key={s} className={s === 'cache:admin' ? 'badge badge--warn' : 'badge badge--info'}>
                        {t(`tokens.scope.${s}`)}
                      </span>
                    ))}
                  </span>
                ),
              },
              { key: 'created', header: t('tokens.created'), hideOnPhone: true, render: (r) => date(r.created_at) },
              {
                key: 'expires',
                header: t('tokens.expires'),
                render: (r) =>
                  new Date(r.expires_at).getTime() < now ? (
                    <span className="badge badge--danger">{t('tokens.expired')}</span>
                  ) : (
                    date(r.expires_at)
                  ),
              },
              {
                key: 'actions',
                header: <span className="sr-only">{t('users.actions')}</span>,
                align: 'right',
                render: (r) => (
                  <button
                    type="button"
                    className="btn btn--ghost btn--small"
                    onClick={() => setRevoking(r)}
                    aria-label={`${t('tokens.revoke')}: ${r.name}`}
                  >
                    <Icon name="trash" /> <span className="hide-phone">{t('tokens.revoke')}</span>
                  </button>
                ),
              },
            ]}
          />
        </div>
      )}
      <Modal
        open={creating || created !== null}
        title={created ? t('tokens.secretTitle') : t('tokens.new')}
        onClose={() => {
          setCreating(false);
          setCreated(null);
        }}
      >
        {created ? (
          <SecretOnce
            secret={created.token}
            onDone={() => {
              setCreated(null);
              setCreating(false);
            }}
          />
        ) : (
          <CreateTokenForm
            onCancel={() => setCreating(false)}
            onCreated={(token) => {
              setCreating(false);
              setCreated(token);
            }}
          />
        )}
      </Modal>
      <ConfirmDialog
        open={revoking !== null}
        title={t('tokens.revokeTitle', { name: revoking?.name ?? '' })}
        confirmLabel={t('tokens.revoke')}
        danger
        busy={revoke.isPending}
        onCancel={() => {
          revoke.reset();
          setRevoking(null);
        }}
        onConfirm={() => {
          if (!revoking) return;
          const name = revoking.name;
          revoke.mutate(revoking.id, {
            onSuccess: () => {
              setRevoking(null);
              setNotice(t('tokens.revoked', { name }));
            },
          });
        }}
      >
        <p>{t('tokens.revokeBody')}</p>
        {revoke.error ? <ErrorMessage error={revoke.error} /> : null}
      </ConfirmDialog>
    </Page>
  );
}
