import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ME_KEY, type User } from '../../../auth';
import i18n from '../../../i18n';
import { CachePage } from './CachePage';

const admin = {
  id: 1,
  email: 'admin@example.org',
  name: 'Admin',
  is_admin: true,
  is_treasurer: false,
  is_active: true,
  otp_enabled: false,
  must_change_password: false,
  created_at: '2026-01-01T00:00:00Z',
} satisfies User;

function stats(entries: number) {
  return {
    success: true,
    stats: {
      backend: 'in_process',
      degraded: false,
      hits: 3,
      misses: 1,
      hit_ratio: 0.75,
      signatures: 1,
      file_url_entries: entries,
      total_keys: entries,
      max_entries: 100000,
      file_url_cache_ttl: 2700,
      file_url_expires: 14400,
      namespaces: { file_url: { hits: 3, misses: 1, hit_ratio: 0.75, entries } },
      jobs: {
        refresh_file_urls: {
          enabled: true,
          every_secs: 300,
          last_run: {
            started_at: '2026-12-03T10:00:00Z',
            duration_ms: 42,
            result: 'ok',
            message: 'Refreshed 12 expiring URLs',
            instance: 'api-1:7',
            fence: 17,
          },
          last_turn_here: null,
        },
        warm_on_deploy: { enabled: true, every_secs: null, last_run: null, last_turn_here: null },
      },
    },
  };
}

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

describe('CachePage', () => {
  let calls: { method: string; path: string; body: string }[];
  let entries: number;

  beforeEach(async () => {
    await i18n.changeLanguage('en');
    calls = [];
    entries = 12;
    vi.stubGlobal(
      'ResizeObserver',
      class {
        observe() {}
        unobserve() {}
        disconnect() {}
      },
    );
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const path = new URL(input.url).pathname;
        calls.push({ method: input.method, path, body: input.method === 'POST' ? await input.text() : '' });
        if (path === '/api/admin/cache/stats') return json(stats(entries));
        if (path === '/api/admin/cache/clear') {
          const cleared = entries;
          entries = 0;
          return json({ success: true, message: `Cleared ${cleared} cache entries`, cleared_count: cleared });
        }
        return json({ type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found', detail: 'no' }, 404);
      }),
    );
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  function renderPage() {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    client.setQueryData(ME_KEY, admin);
    return render(
      <QueryClientProvider client={client}>
        <CachePage />
      </QueryClientProvider>,
    );
  }

  it('clears after a confirmation, says what it did in words, and refetches the stats', async () => {
    const user = userEvent.setup();
    renderPage();
    expect(await screen.findAllByText('75%')).toBeTruthy();
    const statsCalls = () => calls.filter((c) => c.path === '/api/admin/cache/stats').length;
    expect(statsCalls()).toBe(1);

    await user.click(screen.getByRole('button', { name: 'Clear cache' }));
    const dialog = screen.getByRole('dialog', { hidden: true });
    expect(within(dialog).getByText('Every cached file URL will be removed.')).toBeTruthy();
    expect(calls.some((c) => c.path === '/api/admin/cache/clear')).toBe(false);

    await user.click(within(dialog).getByRole('button', { name: 'Clear cache', hidden: true }));
    expect(await screen.findByText('Cleared 12 cache entries')).toBeTruthy();
    expect(calls.find((c) => c.path === '/api/admin/cache/clear')?.body).toBe('{}');
    await waitFor(() => expect(statsCalls()).toBe(2));
  });

  it('sends a namespace clear', async () => {
    const user = userEvent.setup();
    renderPage();
    await screen.findAllByText('75%');
    await user.selectOptions(screen.getByLabelText('What to clear'), 'ns:members');
    await user.click(screen.getByRole('button', { name: 'Clear cache' }));
    const dialog = screen.getByRole('dialog', { hidden: true });
    expect(dialog.textContent).toContain('Every entry of the namespace "members" will be removed.');
    await user.click(within(dialog).getByRole('button', { name: 'Clear cache', hidden: true }));
    await screen.findByText('Cleared 12 cache entries');
    expect(JSON.parse(calls.find((c) => c.path === '/api/admin/cache/clear')!.body)).toEqual({ namespace: 'members' });
  });

  it('shows each periodic job with its last run, duration and result', async () => {
    renderPage();
    const table = (await screen.findByText('Periodic jobs')).closest('table')!;
    expect(within(table).getByText('refresh_file_urls')).toBeTruthy();
    expect(within(table).getByText('Every 300 seconds')).toBeTruthy();
    expect(within(table).getByText('42 ms')).toBeTruthy();
    expect(within(table).getByText('OK')).toBeTruthy();
    expect(within(table).getByText('Refreshed 12 expiring URLs')).toBeTruthy();
    expect(within(table).getByText('on api-1:7, fence 17')).toBeTruthy();
    expect(within(table).getByText('Once per deploy')).toBeTruthy();
    expect(within(table).getByText('Not run yet')).toBeTruthy();
  });
});
