/**
 * Every role signs in, opens every menu entry at desktop and phone width, and sees no console
 * error, no 4xx/5xx answer and only the data of its scope. Screenshots go to e2e-artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { FRONTEND, OTP_ADMIN } from './server';
import { totp } from './totp';
import { makePng } from './png';

const ARTIFACTS = join(FRONTEND, 'e2e-artifacts');
const DEMO_PASSWORD = 'tessera-demo-2026';
const demo = (local: string) => `${local}@demo.tessera.example.org`;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

interface Role {
  name: string;
  email: string;
  password: string;
  otp?: boolean;
  admin: boolean;
  /** How many members the role sees. */
  members: number;
  /** When set, every member row's unit is this one. */
  onlyUnit?: string;
}

const ROLES: Role[] = [
  { name: 'otp-admin', email: OTP_ADMIN.email, password: OTP_ADMIN.password, otp: true, admin: true, members: 300 },
  { name: 'admin', email: demo('admin'), password: DEMO_PASSWORD, admin: true, members: 300 },
  { name: 'central', email: demo('cc'), password: DEMO_PASSWORD, admin: false, members: 300 },
  { name: 'regional', email: demo('cr-sul'), password: DEMO_PASSWORD, admin: false, members: 100 },
  { name: 'sector', email: demo('setor-sao-paulo'), password: DEMO_PASSWORD, admin: false, members: 50 },
  { name: 'cell', email: demo('celula-bom-fim'), password: DEMO_PASSWORD, admin: false, members: 25, onlyUnit: 'Célula Bom Fim' },
  { name: 'treasurer', email: demo('cc.tesouraria'), password: DEMO_PASSWORD, admin: false, members: 300 },
];

let browser: Browser;
const baseUrl = inject('baseUrl');

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
});

/** Watches a page for console errors and failed answers; `expected` lets known ones through. */
function watch(page: Page) {
  const consoleErrors: string[] = [];
  const badResponses: string[] = [];
  const allowed = { login401: 0 };
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const url = new URL(res.url());
    if (allowed.login401 > 0 && url.pathname === '/api/auth/login' && res.status() === 401) {
      allowed.login401 -= 1;
      consoleErrors.push('__allowed_401__');
      return;
    }
    badResponses.push(`${res.status()} ${res.request().method()} ${url.pathname}`);
  });
  return {
    consoleErrors,
    badResponses,
    allowed,
    /** Console errors, minus the browser's own line for each allowed failed answer. */
    errors(): string[] {
      let allowances = consoleErrors.filter((e) => e === '__allowed_401__').length;
      return consoleErrors.filter((e) => {
        if (e === '__allowed_401__') return false;
        if (allowances > 0 && e.includes('status of 401')) {
          allowances -= 1;
          return false;
        }
        return true;
      });
    },
  };
}

async function settle(page: Page) {
  await page.waitForSelector('h1#page-title');
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 20_000 });
}

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}-desktop.png`) });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(ARTIFACTS, `${name}-phone.png`) });
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
}

async function signIn(page: Page, role: Role, w: ReturnType<typeof watch>) {
  await page.goto(`${baseUrl}/members`);
  await page.waitForURL(/\/login\?next=%2Fmembers/);
  await page.fill('input[name=email]', role.email);
  await page.fill('input[name=password]', role.password);
  if (role.otp) {
    w.allowed.login401 = 1; // the answer `otp_required` is how the API asks for the code
    await page.click('button[type=submit]');
    await page.waitForSelector('input[name=otp_code]');
    await page.screenshot({ path: join(ARTIFACTS, 'login-otp-desktop.png') });
    await page.fill('input[name=otp_code]', totp(OTP_ADMIN.secret));
    await page.click('button[type=submit]');
  } else {
    await page.click('button[type=submit]');
  }
  // Back where the user wanted to go.
  await page.waitForURL(`${baseUrl}/members`);
  await settle(page);
}

describe.each(ROLES)('$name', (role) => {
  let context: BrowserContext;
  let page: Page;
  let w: ReturnType<typeof watch>;

  beforeAll(async () => {
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    page = await context.newPage();
    w = watch(page);
  });
  afterAll(async () => {
    await context?.close();
  });

  it('signs in (with a one-time code when the account has them)', async () => {
    if (role.name === 'cell') {
      await page.goto(`${baseUrl}/login`);
      await page.waitForSelector('input[name=email]');
      await page.screenshot({ path: join(ARTIFACTS, 'login-desktop.png') });
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: join(ARTIFACTS, 'login-phone.png') });
      await page.setViewportSize(DESKTOP);
    }
    await signIn(page, role, w);
    await expect(page.textContent('[data-testid=current-user]')).resolves.toBeTruthy();
  });

  it('opens every menu entry without an error', async () => {
    const links = page.locator('#sidebar nav a.nav__link:not([target])');
    const count = await links.count();
    expect(count).toBeGreaterThanOrEqual(5);
    const docs = page.locator('#sidebar nav a[href="/api/docs/"]');
    await expect(docs.count()).resolves.toBe(1);
    const adminSection = await page.locator('#nav-admin').count();
    expect(adminSection).toBe(role.admin ? 1 : 0);
    for (let i = 0; i < count; i++) {
      const link = links.nth(i);
      const href = (await link.getAttribute('href')) ?? '/';
      await link.click();
      await page.waitForURL((u) => u.pathname === href);
      await settle(page);
      const alerts = await page.locator('.error-box').allTextContents();
      expect(alerts, `error shown on ${href}`).toEqual([]);
      const slug = href === '/' ? 'dashboard' : href.slice(1).replace(/\//g, '-');
      await shoot(page, `${role.name}-${slug}`);
    }
    expect(w.errors(), 'console errors').toEqual([]);
    expect(w.badResponses, '4xx/5xx answers').toEqual([]);
  });

  it('sees only the members of its scope', async () => {
    await page.click('#sidebar nav a[href="/members"]');
    await settle(page);
    const total = await page.textContent('.pagination .muted');
    expect(total).toBe(`${role.members} results`);
    if (role.onlyUnit) {
      const units = await page.locator('table.table tbody tr td:nth-child(2)').allTextContents();
      expect(units.length).toBeGreaterThan(0);
      expect(new Set(units)).toEqual(new Set([role.onlyUnit]));
    }
  });

  if (role.name === 'cell') {
    it('uploads an avatar and sees it render from its signed URL', async () => {
      await page.click('#sidebar nav a[href="/members"]');
      await settle(page);
      const firstRow = page.locator('table.table tbody tr').first();
      const name = (await firstRow.locator('.person__name').textContent()) ?? '';
      const before = await firstRow.locator('img[data-testid=member-avatar]').getAttribute('src').catch(() => null);
      await firstRow.getByRole('button', { name: /^Edit/ }).click();
      const dialog = page.locator('dialog[open]');
      await dialog.waitFor();
      await dialog.locator('input[type=file]').setInputFiles({ name: 'avatar.png', mimeType: 'image/png', buffer: makePng(64) });
      await dialog.getByText('Uploaded').waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'cell-member-edit-desktop.png') });
      await dialog.locator('button[type=submit]').click();
      await page.locator('dialog[open]').waitFor({ state: 'detached' }).catch(() => undefined);
      await page.waitForFunction(() => !document.querySelector('dialog[open]'));
      const row = page.locator('table.table tbody tr', { hasText: name }).first();
      const img = row.locator('img[data-testid=member-avatar]');
      await page.waitForFunction(
        ({ before }) => {
          const el = document.querySelector<HTMLImageElement>('table.table tbody tr img[data-testid=member-avatar]');
          return !!el && el.src !== before && el.complete && el.naturalWidth > 0;
        },
        { before },
        { timeout: 15_000 },
      );
      const src = await img.getAttribute('src');
      expect(src).toContain('/api/objects/');
      expect(src).toContain('signature=');
      const width = await img.evaluate((el) => (el as HTMLImageElement).naturalWidth);
      expect(width).toBe(64);
      expect(w.errors()).toEqual([]);
      expect(w.badResponses).toEqual([]);
    });
  }

  if (role.name === 'cell') {
    it('records a payment of each purpose (with a receipt) and deletes one', async () => {
      const receipt = { name: 'recibo.png', mimeType: 'image/png', buffer: makePng(32) };
      // Dues: from the dues page.
      await page.click('#sidebar nav a[href="/dues"]');
      await settle(page);
      await page.getByRole('button', { name: 'Record payment' }).first().click();
      let dialog = page.locator('dialog[open]');
      await dialog.waitFor();
      await dialog.locator('input[type=file]').setInputFiles(receipt);
      await dialog.getByText('Uploaded').waitFor();
      await dialog.locator('button[type=submit]').click();
      await page.waitForFunction(() => !document.querySelector('dialog[open]'));

      // The count before comes from the list the page fetches now: the page may first show the
      // list it cached on an earlier visit, without the dues payment just recorded.
      const listed = page.waitForResponse(
        (r) => new URL(r.url()).pathname === '/api/payments' && r.request().method() === 'GET',
      );
      await page.click('#sidebar nav a[href="/payments"]');
      await settle(page);
      const totalBefore = ((await (await listed).json()) as { total: number }).total;
      for (const purpose of ['donation', 'material'] as const) {
        await page.getByRole('button', { name: 'Record a payment' }).click();
        dialog = page.locator('dialog[open]');
        await dialog.waitFor();
        await dialog.locator('select[name=purpose]').selectOption(purpose);
        await page.waitForFunction(() => ((document.querySelector('dialog[open] select[name=member_id]') as HTMLSelectElement | null)?.options.length ?? 0) > 1);
        await dialog.locator('select[name=member_id]').selectOption({ index: 1 });
        if (purpose === 'material') {
          await page.waitForFunction(() => ((document.querySelector('dialog[open] select[name=material_id]') as HTMLSelectElement | null)?.options.length ?? 0) > 1);
          await dialog.locator('select[name=material_id]').selectOption({ index: 1 });
        } else {
          await dialog.locator('input[name=amount]').fill('10,00');
        }
        await dialog.locator('input[type=file]').setInputFiles(receipt);
        await dialog.getByText('Uploaded').waitFor();
        if (purpose === 'material') await page.screenshot({ path: join(ARTIFACTS, 'cell-payment-material-desktop.png') });
        await dialog.locator('button[type=submit]').click();
        await page.waitForFunction(() => !document.querySelector('dialog[open]'));
      }
      await page.waitForLoadState('networkidle');
      await page.waitForFunction(
        (n) => Number(document.querySelector('.pagination .muted')?.textContent?.replace(/\D/g, '')) === n,
        totalBefore + 2,
      );
      const purposes = await page.locator('table.table tbody tr td:nth-child(2)').allTextContents();
      expect(purposes.slice(0, 3)).toEqual(['Material', 'Donation', 'Dues']);
      await page.locator('table.table tbody tr').first().locator('button').click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Delete' }).click();
      await page.waitForFunction(
        (n) => Number(document.querySelector('.pagination .muted')?.textContent?.replace(/\D/g, '')) === n,
        totalBefore + 1,
      );
      expect(w.errors()).toEqual([]);
      expect(w.badResponses).toEqual([]);
    });
  }

  if (role.name === 'admin') {
    it('warms and clears the cache and sees the stats change', async () => {
      await page.click('#sidebar nav a[href="/admin/cache"]');
      await settle(page);
      const result = async () => ((await page.textContent('[data-testid=cache-result]')) ?? '').trim();
      await page.getByRole('button', { name: 'Warm cache', exact: true }).click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Warm cache', exact: true }).click();
      await page.locator('[data-testid=cache-result]').waitFor();
      expect(await result()).toMatch(/^Cached \d+ file URLs?$/);
      await page.waitForLoadState('networkidle');
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid=cache-file-urls]')?.textContent?.replace(/\D/g, '')) > 0,
      );
      const warmed = Number((await page.textContent('[data-testid=cache-file-urls]'))?.replace(/\D/g, ''));
      await page.getByRole('button', { name: 'Clear cache', exact: true }).click();
      await page.locator('dialog[open]').getByRole('button', { name: 'Clear cache', exact: true }).click();
      await page.waitForFunction(() => document.querySelector('[data-testid=cache-result]')?.textContent?.includes('Cleared'));
      expect(await result()).toMatch(/^Cleared \d+ cache entr(y|ies)$/);
      await page.waitForLoadState('networkidle');
      await page.waitForFunction(
        (before) => Number(document.querySelector('[data-testid=cache-file-urls]')?.textContent?.replace(/\D/g, '')) < before,
        warmed,
      );
      await shoot(page, 'admin-cache-after-clear');
      expect(w.errors()).toEqual([]);
      expect(w.badResponses).toEqual([]);
    });
  }

  it('switches to Portuguese and sees the menu translated', async () => {
    await page.locator('#sidebar [data-testid=language-switcher]').selectOption('pt-BR');
    const nav = page.locator('#sidebar nav');
    await page.waitForFunction(() => document.querySelector('#sidebar nav')?.textContent?.includes('Membros'));
    const text = (await nav.textContent()) ?? '';
    expect(text).toContain('Painel');
    expect(text).toContain('Mensalidades');
    expect(text).toContain('Pagamentos');
    if (role.admin) expect(text).toContain('Administração');
    await expect(page.getAttribute('html', 'lang')).resolves.toBe('pt-BR');
    if (role.name === 'central' || role.name === 'cell') {
      await page.click('#sidebar nav a[href="/"]');
      await settle(page);
      await shoot(page, `${role.name}-pt-BR-dashboard`);
    }
  });

  it('logs out', async () => {
    await page.locator('#sidebar .sidebar__footer button').first().click();
    await page.waitForURL(/\/login/);
    expect(w.errors(), 'console errors').toEqual([]);
    expect(w.badResponses, '4xx/5xx answers').toEqual([]);
  });
});
