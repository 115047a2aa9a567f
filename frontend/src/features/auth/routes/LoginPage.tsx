import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { ApiError } from '../../../api/errors';
import { signIn, useSession } from '../../../auth';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { LanguageSwitcher } from '../../../app/LanguageSwitcher';

import { safeNext } from '../safeNext';

type Step = 'password' | 'otp' | 'recovery';

export function LoginPage() {
  const { t } = useTranslation('auth');
  const { t: tc } = useTranslation();
  const session = useSession();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const [step, setStep] = useState<Step>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const codeRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = `${t('login.title')} · ${tc('appName')}`;
  }, [t, tc]);
  useEffect(() => {
    if (step !== 'password') codeRef.current?.focus();
  }, [step]);

  if (session && !busy) return <Navigate to={next} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const tokens = await unwrap(
        api.POST('/api/auth/login', {
          body: {
            email: email.trim(),
            password,
            otp_code: step === 'otp' ? code.replace(/\s/g, '') : undefined,
            recovery_code: step === 'recovery' ? code.trim() : undefined,
          },
        }),
      );
      signIn(queryClient, tokens);
      navigate(next, { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'otp_required') {
        setStep('otp');
        setCode('');
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  }

  const isCode = step !== 'password';
  return (
    <div className="login">
      <div className="login__lang">
        <LanguageSwitcher />
      </div>
      <main className="login__card card" aria-labelledby="login-title">
        <div className="brand brand--login">
          <span className="brand__mark" aria-hidden="true">T</span>
          <span>{tc('appName')}</span>
        </div>
        <h1 id="login-title">{isCode ? t('login.otpTitle') : t('login.welcome')}</h1>
        <p className="muted">
          {step === 'password' ? t('login.intro') : step === 'otp' ? t('login.otpIntro') : t('login.recoveryIntro')}
        </p>
        <form onSubmit={submit} noValidate className="form">
          {!isCode ? (
            <>
              <FormField label={t('login.email')} required>
                {(p) => (
                  <input
                    {...p}
                    className="input"
                    type="email"
                    name="email"
                    autoComplete="username"
                    value={email}
                    onChange={(e) => setEmail(e.target.value)}
                    autoFocus
                  />
                )}
              </FormField>
              <FormField label={t('login.password')} required>
                {(p) => (
                  <input
                    {...p}
                    className="input"
                    type="password"
                    name="password"
                    autoComplete="current-password"
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                  />
                )}
              </FormField>
            </>
          ) : (
            <FormField label={step === 'otp' ? t('login.otpCode') : t('login.recoveryCode')} required>
              {(p) => (
                <input
                  {...p}
                  ref={codeRef}
                  className="input input--code"
                  name={step === 'otp' ? 'otp_code' : 'recovery_code'}
                  inputMode={step === 'otp' ? 'numeric' : 'text'}
                  autoComplete="one-time-code"
                  maxLength={step === 'otp' ? 6 : 64}
                  value={code}
                  onChange={(e) => setCode(e.target.value)}
                />
              )}
            </FormField>
          )}
          {error ? <ErrorMessage error={error} /> : null}
          <button type="submit" className="btn btn--primary btn--block" disabled={busy}>
            {busy ? t('login.submitting') : isCode ? t('login.verify') : t('login.submit')}
          </button>
          {isCode ? (
            <div className="login__links">
              <button
                type="button"
                className="link-button"
                onClick={() => {
                  setStep(step === 'otp' ? 'recovery' : 'otp');
                  setCode('');
                  setError(null);
                }}
              >
                {step === 'otp' ? t('login.useRecovery') : t('login.useOtp')}
              </button>
              <button
                type="button"
                className="link-button"
                onClick={() => {
                  setStep('password');
                  setCode('');
                  setError(null);
                }}
              >
                {t('login.startOver')}
              </button>
            </div>
          ) : null}
        </form>
      </main>
      <p className="login__footer muted small">
        {tc('tagline')} · <a href="/api/docs/">{t('login.docs')}</a>
      </p>
    </div>
  );
}
