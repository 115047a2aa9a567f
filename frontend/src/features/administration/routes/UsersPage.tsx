import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../../api/errors';
import { useCurrentUser } from '../../../auth';
import { ConfirmDialog, Modal } from '../../../components/ConfirmDialog';
import { DataTable } from '../../../components/DataTable';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { OrgUnitPicker } from '../../../components/OrgUnitPicker';
import { Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { unitName, useOrgUnits } from '../../org/api/orgUnits';
import { useUserMutations, useUsers, type User } from '../api/admin';
import { AdminOnly } from '../components/AdminOnly';
import '../admin.css';

const PER_PAGE = 20;

type Dialog =
  | { kind: 'create' }
  | { kind: 'edit'; user: User }
  | { kind: 'reset'; user: User }
  | { kind: 'otp'; user: User }
  | { kind: 'delete'; user: User };

function UserForm({ user, onDone, onCancel }: { user: User | null; onDone: (m: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('administration');
  const { t: tc } = useTranslation();
  const { create, update } = useUserMutations();
  const [name, setName] = useState(user?.name ?? '');
  const [email, setEmail] = useState(user?.email ?? '');
  const [password, setPassword] = useState('');
  const [unit, setUnit] = useState<number | null>(user?.org_unit_id ?? null);
  const [isAdmin, setIsAdmin] = useState(user?.is_admin ?? false);
  const [isTreasurer, setIsTreasurer] = useState(user?.is_treasurer ?? false);
  const [isActive, setIsActive] = useState(user?.is_active ?? true);
  const mutation = user ? update : create;
  const error = mutation.error instanceof ApiError ? mutation.error : null;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (user) {
      update.mutate(
        {
          id: user.id,
          body: { name: name.trim(), email: email.trim(), org_unit_id: unit, is_admin: isAdmin, is_treasurer: isTreasurer, is_active: isActive },
        },
        { onSuccess: (u) => onDone(t('users.updated', { name: u.name })) },
      );
    } else {
      create.mutate(
        { name: name.trim(), email: email.trim(), password, org_unit_id: unit, is_admin: isAdmin, is_treasurer: isTreasurer },
        { onSuccess: (u) => onDone(t('users.created', { name: u.name })) },
      );
    }
  }

  return (
    <form className="form" onSubmit={submit}>
      <div className="form__row">
        <FormField label={t('users.name')} required error={error?.fieldError('name')}>
          {(p) => <input {...p} className="input" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </FormField>
        <FormField label={t('users.email')} required error={error?.fieldError('email')}>
          {(p) => (
            <input {...p} className="input" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
          )}
        </FormField>
      </div>
      {!user ? (
        <FormField label={t('users.password')} hint={t('users.passwordHint')} required error={error?.fieldError('password')}>
          {(p) => (
            <input
              {...p}
              className="input"
              type="password"
              minLength={8}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="new-password"
            />
          )}
        </FormField>
      ) : null}
      <FormField label={t('users.unit')} error={error?.fieldError('org_unit_id')}>
        {(p) => <OrgUnitPicker {...p} required={false} value={unit} onChange={setUnit} allLabel={t('users.noUnit')} />}
      </FormField>
      <fieldset className="checkbox-group">
        <legend>{t('users.roles')}</legend>
        <label className="checkbox">
          <input type="checkbox" checked={isAdmin} onChange={(e) => setIsAdmin(e.target.checked)} />
          {t('users.admin')}
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={isTreasurer} onChange={(e) => setIsTreasurer(e.target.checked)} />
          {t('users.treasurer')}
        </label>
        {user ? (
          <label className="checkbox">
            <input type="checkbox" checked={isActive} onChange={(e) => setIsActive(e.target.checked)} />
            {t('users.active')}
          </label>
        ) : null}
      </fieldset>
      {mutation.error && !error?.fieldErrors.length ? <ErrorMessage error={mutation.error} /> : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button type="submit" className="btn btn--primary" disabled={mutation.isPending}>
          {user ? tc('actions.save') : tc('actions.create')}
        </button>
      </div>
    </form>
  );
}

function ResetForm({ user, onDone, onCancel }: { user: User; onDone: (m: string) => void; onCancel: () => void }) {
  const { t } = useTranslation('administration');
  const { t: tc } = useTranslation();
  const { resetPassword } = useUserMutations();
  const [password, setPassword] = useState('');
  const error = resetPassword.error instanceof ApiError ? resetPassword.error : null;
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        resetPassword.mutate({ id: user.id, password }, { onSuccess: () => onDone(t('users.resetDone', { name: user.name })) });
      }}
    >
      <p className="muted">{t('users.resetHint')}</p>
      <FormField label={t('users.password')} hint={t('users.passwordHint')} required error={error?.fieldError('password')}>
        {(p) => (
          <input
            {...p}
            className="input"
            type="text"
            minLength={8}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="off"
          />
        )}
      </FormField>
      {resetPassword.error && !error?.fieldErrors.length ? <ErrorMessage error={resetPassword.error} /> : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button type="submit" className="btn btn--primary" disabled={resetPassword.isPending || password.length < 8}>
          {t('users.resetPassword')}
        </button>
      </div>
    </form>
  );
}

export function UsersPage() {
  const { t } = useTranslation('administration');
  return (
    <AdminOnly title={t('users.title')}>
      <UsersPageContent />
    </AdminOnly>
  );
}

function UsersPageContent() {
  const { t } = useTranslation('administration');
  const { t: tc } = useTranslation();
  const me = useCurrentUser();
  const [page, setPage] = useState(1);
  const users = useUsers(page, PER_PAGE);
  const units = useOrgUnits();
  const { remove, removeOtp } = useUserMutations();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const open = (d: Dialog) => {
    setNotice(null);
    remove.reset();
    removeOtp.reset();
    setDialog(d);
  };
  const done = (m: string) => {
    setDialog(null);
    setNotice(m);
  };

  const confirm =
    dialog?.kind === 'otp'
      ? { title: t('users.removeOtpTitle'), body: t('users.removeOtpBody', { name: dialog.user.name }), label: t('users.removeOtp'), m: removeOtp }
      : dialog?.kind === 'delete'
        ? { title: t('users.deleteTitle'), body: t('users.deleteBody', { name: dialog.user.name }), label: tc('actions.delete'), m: remove }
        : null;

  return (
    <Page
      title={t('users.title')}
      subtitle={t('users.subtitle')}
      actions={
        <button type="button" className="btn btn--primary" onClick={() => open({ kind: 'create' })}>
          <Icon name="plus" /> {t('users.new')}
        </button>
      }
    >
      <div aria-live="polite">{notice ? <p className="notice notice--ok">{notice}</p> : null}</div>
      {users.isPending ? (
        <Loading />
      ) : users.isError ? (
        <ErrorMessage error={users.error} onRetry={() => void users.refetch()} />
      ) : users.data.items.length === 0 ? (
        <EmptyState />
      ) : (
        <>
          <div className="table-scroll">
            <DataTable
              caption={t('users.caption')}
              rows={users.data.items}
              rowKey={(u) => u.id}
              columns={[
                {
                  key: 'name',
                  header: t('users.name'),
                  render: (u) => (
                    <div className="person">
                      <span className="avatar avatar--small" aria-hidden="true">
                        {u.name.slice(0, 1).toUpperCase()}
                      </span>
                      <div style={{ minWidth: 0 }}>
                        <div className="person__name">{u.name}</div>
                        <div className="muted small">{u.email}</div>
                      </div>
                    </div>
                  ),
                },
                { key: 'unit', header: t('users.unit'), hideOnPhone: true, render: (u) => unitName(units.data, u.org_unit_id) },
                {
                  key: 'role',
                  header: t('users.role'),
                  render: (u) => (
                    <span className="row-actions" style={{ justifyContent: 'flex-start' }}>
                      {u.is_admin ? <span className="badge badge--warn">{t('users.admin')}</span> : null}
                      {u.is_treasurer ? <span className="badge badge--info">{t('users.treasurer')}</span> : null}
                      {!u.is_admin && !u.is_treasurer ? <span className="badge">{t('users.member')}</span> : null}
                      {!u.is_active ? <span className="badge badge--danger">{t('users.inactive')}</span> : null}
                      {u.must_change_password ? <span className="badge badge--warn">{t('users.mustChange')}</span> : null}
                    </span>
                  ),
                },
                {
                  key: 'otp',
                  header: t('users.otp'),
                  hideOnPhone: true,
                  render: (u) =>
                    u.otp_enabled ? <span className="badge badge--ok">{t('users.otpOn')}</span> : <span className="muted">{t('users.otpOff')}</span>,
                },
                {
                  key: 'actions',
                  header: <span className="sr-only">{t('users.actions')}</span>,
                  align: 'right',
                  render: (u) => (
                    <span className="row-actions nowrap" style={{ flexWrap: 'nowrap' }}>
                      <button type="button" className="btn btn--ghost btn--small btn--icon" onClick={() => open({ kind: 'edit', user: u })} aria-label={`${tc('actions.edit')}: ${u.name}`} title={tc('actions.edit')}>
                        <Icon name="pencil" />
                      </button>
                      <button type="button" className="btn btn--ghost btn--small btn--icon" onClick={() => open({ kind: 'reset', user: u })} aria-label={`${t('users.resetPassword')}: ${u.name}`} title={t('users.resetPassword')}>
                        <Icon name="key" />
                      </button>
                      {u.otp_enabled ? (
                        <button type="button" className="btn btn--ghost btn--small btn--icon" onClick={() => open({ kind: 'otp', user: u })} aria-label={`${t('users.removeOtp')}: ${u.name}`} title={t('users.removeOtp')}>
                          <Icon name="close" />
                        </button>
                      ) : null}
                      {u.id !== me.id ? (
                        <button
                          type="button"
                          className="btn btn--ghost btn--small btn--icon"
                          onClick={() => open({ kind: 'delete', user: u })}
                          aria-label={`${tc('actions.delete')}: ${u.name}`}
                          title={tc('actions.delete')}
                        >
                          <Icon name="trash" />
                        </button>
                      ) : null}
                    </span>
                  ),
                },
              ]}
            />
          </div>
          <Pagination page={page} perPage={PER_PAGE} total={users.data.total} onPage={setPage} />
        </>
      )}
      <Modal
        open={dialog?.kind === 'create' || dialog?.kind === 'edit' || dialog?.kind === 'reset'}
        title={
          dialog?.kind === 'create'
            ? t('users.new')
            : dialog?.kind === 'edit'
              ? t('users.edit')
              : dialog?.kind === 'reset'
                ? t('users.resetTitle', { name: dialog.user.name })
                : ''
        }
        onClose={() => setDialog(null)}
      >
        {dialog?.kind === 'create' ? <UserForm user={null} onDone={done} onCancel={() => setDialog(null)} /> : null}
        {dialog?.kind === 'edit' ? <UserForm user={dialog.user} onDone={done} onCancel={() => setDialog(null)} /> : null}
        {dialog?.kind === 'reset' ? <ResetForm user={dialog.user} onDone={done} onCancel={() => setDialog(null)} /> : null}
      </Modal>
      <ConfirmDialog
        open={confirm !== null}
        title={confirm?.title ?? ''}
        confirmLabel={confirm?.label}
        danger
        busy={confirm?.m.isPending}
        onCancel={() => setDialog(null)}
        onConfirm={() => {
          if (dialog?.kind === 'otp') {
            const name = dialog.user.name;
            removeOtp.mutate(dialog.user.id, { onSuccess: () => done(t('users.removeOtpDone', { name })) });
          } else if (dialog?.kind === 'delete') {
            remove.mutate(dialog.user.id, { onSuccess: () => done(tc('state.saved')) });
          }
        }}
      >
        <p>{confirm?.body}</p>
        {confirm?.m.error ? <ErrorMessage error={confirm.m.error} /> : null}
      </ConfirmDialog>
    </Page>
  );
}
