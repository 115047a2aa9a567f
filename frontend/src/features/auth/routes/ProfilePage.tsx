import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { QRCodeSVG } from 'qrcode.react';
import { api, unwrap } from '../../../api/client';
import { ApiError } from '../../../api/errors';
import { ME_KEY, useCurrentUser } from '../../../auth';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Card, Page } from '../../../components/Page';

function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.fieldError(field) : undefined;
}

function NameForm() {
  const { t } = useTranslation('auth');
  const { t: tc } = useTranslation();
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const [name, setName] = useState(user.name);
  const save = useMutation({
    mutationFn: () => unwrap(api.PATCH('/api/auth/me', { body: { name: name.trim() } })),
    onSuccess: (u) => queryClient.setQueryData(ME_KEY, u),
  });
  return (
    <Card title={t('profile.details')}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <FormField label={t('profile.email')}>
          {(p) => <input {...p} className="input" value={user.email} readOnly />}
        </FormField>
        <FormField label={t('profile.name')} required error={fieldError(save.error, 'name')}>
          {(p) => <input {...p} className="input" value={name} onChange={(e) => setName(e.target.value)} />}
        </FormField>
        {save.isError && !fieldError(save.error, 'name') ? <ErrorMessage error={save.error} /> : null}
        <div className="form__actions">
          {save.isSuccess ? <span className="badge badge--ok">{tc('state.saved')}</span> : null}
          <button className="btn btn--primary" disabled={save.isPending || !name.trim()}>
            {tc('actions.save')}
          </button>
        </div>
      </form>
    </Card>
  );
}

function PasswordForm() {
  const { t } = useTranslation('auth');
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const save = useMutation({
    mutationFn: () =>
      unwrap(api.PATCH('/api/auth/me', { body: { password, current_password: current } })),
    onSuccess: (u) => {
      queryClient.setQueryData(ME_KEY, u);
      setCurrent('');
      setPassword('');
    },
  });
  return (
    <Card title={t('profile.password')}>
      {user.must_change_password ? <p className="notice">{t('profile.mustChange')}</p> : null}
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <input type="email" autoComplete="username" value={user.email} readOnly hidden />
        <FormField label={t('profile.currentPassword')} required error={fieldError(save.error, 'current_password')}>
          {(p) => (
            <input
              {...p}
              className="input"
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          )}
        </FormField>
        <FormField
          label={t('profile.newPassword')}
          hint={t('profile.newPasswordHint')}
          required
          error={fieldError(save.error, 'password')}
        >
          {(p) => (
            <input
              {...p}
              className="input"
              type="password"
              autoComplete="new-password"
              minLength={8}
              maxLength={256}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </FormField>
        {save.isError ? <ErrorMessage error={save.error} /> : null}
        {save.isSuccess ? <p className="notice notice--ok">{t('profile.passwordChanged')}</p> : null}
        <div className="form__actions">
          <button className="btn btn--primary" disabled={save.isPending || !current || password.length < 8}>
            {t('profile.savePassword')}
          </button>
        </div>
      </form>
    </Card>
  );
}

function OtpCard() {
  const { t } = useTranslation('auth');
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState('');
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [copied, setCopied] = useState(false);
  const setup = useMutation({
    mutationFn: () => unwrap(api.POST('/api/auth/otp/setup', { body: { current_password: current } })),
  });
  const enable = useMutation({
    mutationFn: () => unwrap(api.POST('/api/auth/otp/enable', { body: { current_password: current, code } })),
    onSuccess: (r) => {
      setRecovery(r.recovery_codes);
      setCode('');
      setCurrent('');
      setup.reset();
      void queryClient.invalidateQueries({ queryKey: ME_KEY });
    },
  });
  const disable = useMutation({
    mutationFn: async () => {
      await api.POST('/api/auth/otp/disable', { body: { current_password: current, code } });
    },
    onSuccess: () => {
      setCode('');
      setCurrent('');
      void queryClient.invalidateQueries({ queryKey: ME_KEY });
    },
  });
  const error = setup.error ?? enable.error ?? disable.error;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (user.otp_enabled) disable.mutate();
    else if (setup.data) enable.mutate();
    else setup.mutate();
  }

  return (
    <Card title={t('profile.otp')}>
      <p className={user.otp_enabled ? 'notice notice--ok' : 'muted'}>
        {user.otp_enabled ? t('profile.otpOn') : t('profile.otpOff')}
      </p>
      {recovery && recovery.length > 0 ? (
        <div className="recovery">
          <h3>{t('profile.recoveryTitle')}</h3>
          <p className="muted">{t('profile.recoveryIntro')}</p>
          <ul className="recovery__codes">
            {recovery.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <button
            type="button"
            className="btn btn--ghost btn--small"
            onClick={() => {
              void navigator.clipboard?.writeText(recovery.join('\n')).then(() => setCopied(true));
            }}
          >
            {copied ? t('profile.copied') : t('profile.copy')}
          </button>
        </div>
      ) : null}
      {setup.data && !user.otp_enabled ? (
        <div className="otp-setup">
          <p>{t('profile.otpScan')}</p>
          <div className="otp-setup__qr">
            <QRCodeSVG value={setup.data.otpauth_url} size={176} marginSize={2} title="otpauth QR" />
          </div>
          <p className="small">
            {t('profile.otpSecret')}: <code data-testid="otp-secret">{setup.data.secret}</code>
          </p>
        </div>
      ) : null}
      <form className="form" onSubmit={submit}>
        <input type="email" autoComplete="username" value={user.email} readOnly hidden />
        <FormField label={t('profile.currentPassword')} required error={fieldError(error, 'current_password')}>
          {(p) => (
            <input
              {...p}
              className="input"
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          )}
        </FormField>
        {user.otp_enabled || setup.data ? (
          <FormField label={t('profile.otpCode')} required error={fieldError(error, 'code')}>
            {(p) => (
              <input
                {...p}
                className="input input--code"
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={6}
                value={code}
                onChange={(e) => setCode(e.target.value)}
              />
            )}
          </FormField>
        ) : null}
        {error ? <ErrorMessage error={error} /> : null}
        <div className="form__actions">
          <button
            className={user.otp_enabled ? 'btn btn--danger' : 'btn btn--primary'}
            disabled={!current || setup.isPending || enable.isPending || disable.isPending}
          >
            {user.otp_enabled ? t('profile.otpDisable') : setup.data ? t('profile.otpEnable') : t('profile.otpSetup')}
          </button>
        </div>
      </form>
    </Card>
  );
}

export function ProfilePage() {
  const { t } = useTranslation('auth');
  return (
    <Page title={t('profile.title')} subtitle={t('profile.subtitle')}>
      <div className="grid grid--2">
        <NameForm />
        <PasswordForm />
        <OtpCard />
      </div>
    </Page>
  );
}
