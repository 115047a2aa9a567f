import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClientProvider } from '@tanstack/react-query';
import { createMemoryRouter, RouterProvider } from 'react-router';
import i18n from '../../../i18n';
import { createQueryClient } from '../../../app/queryClient';
import { getSession, setSession } from '../../../auth/session';
import { LoginPage } from './LoginPage';
import { safeNext } from '../safeNext';

const user = {
  id: 1, email: 'otp@example.org', name: 'Otp Admin', is_admin: true, is_treasurer: false, is_active: true,
  otp_enabled: true, must_change_password: false, created_at: '2026-01-01T00:00:00Z',
};

function problem(status: number, code: string) {
  return new Response(JSON.stringify({ type: 'x', title: 'x', status, detail: `server says ${code}`, code }), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  });
}

function renderLogin() {
  const router = createMemoryRouter(
    [
      { path: '/login', element: <LoginPage /> },
      { path: '/members', element: <p>members page</p> },
    ],
    { initialEntries: ['/login?next=%2Fmembers'] },
  );
  render(
    <QueryClientProvider client={createQueryClient()}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

describe('LoginPage', () => {
  beforeEach(async () => {
    localStorage.clear();
    setSession(null);
    await i18n.changeLanguage('en');
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('asks for the one-time code on otp_required, then signs in and goes where the user wanted', async () => {
    const bodies: unknown[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (req: Request) => {
        const body = (await req.json()) as { otp_code?: string };
        bodies.push(body);
        if (!body.otp_code) return problem(401, 'otp_required');
        return new Response(
          JSON.stringify({ access_token: 'a1', token_type: 'Bearer', expires_in: 900, refresh_token: 'r1', refresh_expires_in: 9, user }),
          { status: 200, headers: { 'Content-Type': 'application/json' } },
        );
      }),
    );
    const router = renderLogin();
    const ue = userEvent.setup();
    await ue.type(screen.getByLabelText(/Email/), 'otp@example.org');
    await ue.type(screen.getByLabelText(/^Password/), 'secret-password');
    await ue.click(screen.getByRole('button', { name: 'Sign in' }));
    const code = await screen.findByRole('textbox', { name: /One-time code/ });
    expect(screen.getByRole('button', { name: 'Use a recovery code' })).toBeTruthy();
    await ue.type(code, '123456');
    await ue.click(screen.getByRole('button', { name: 'Verify' }));
    await screen.findByText('members page');
    expect(router.state.location.pathname).toBe('/members');
    expect(getSession()).toEqual({ accessToken: 'a1', refreshToken: 'r1' });
    expect(bodies[1]).toMatchObject({ email: 'otp@example.org', password: 'secret-password', otp_code: '123456' });
  });

  it('shows a wrong password in the user language, by its code', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => problem(401, 'unauthenticated')));
    await i18n.changeLanguage('pt-BR');
    renderLogin();
    const ue = userEvent.setup();
    await ue.type(screen.getByLabelText(/E-mail/), 'x@example.org');
    await ue.type(screen.getByLabelText(/^Senha/), 'wrong');
    await ue.click(screen.getByRole('button', { name: 'Entrar' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Sua sessão terminou, ou o e-mail ou a senha estão errados.');
  });

  it('only goes back to paths of this app', () => {
    expect(safeNext('/members?page=2')).toBe('/members?page=2');
    expect(safeNext('//evil.example.org')).toBe('/');
    expect(safeNext('https://evil.example.org')).toBe('/');
    expect(safeNext('/login')).toBe('/');
    expect(safeNext(null)).toBe('/');
  });
});
