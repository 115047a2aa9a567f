/** Locale-aware formatting of money (cents), dates and months, following the UI language. */
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';

export function formatMoney(locale: string, cents: number, currency: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

export function useFormat() {
  const { i18n } = useTranslation();
  const locale = i18n.resolvedLanguage ?? i18n.language ?? 'en';
  return useMemo(() => {
    const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
    const dateTimeFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    const monthFmt = new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' });
    const monthLongFmt = new Intl.DateTimeFormat(locale, { month: 'long', year: 'numeric', timeZone: 'UTC' });
    const numberFmt = new Intl.NumberFormat(locale);
    return {
      locale,
      money: (cents: number, currency: string) => formatMoney(locale, cents, currency),
      /** `YYYY-MM-DD` */
      date: (value: string | null | undefined) => (value ? dateFmt.format(new Date(`${value.slice(0, 10)}T00:00:00Z`)) : '—'),
      dateTime: (value: string | null | undefined) => (value ? dateTimeFmt.format(new Date(value)) : '—'),
      /** `YYYY-MM` */
      month: (value: string) => monthFmt.format(new Date(`${value}-01T00:00:00Z`)),
      monthLong: (value: string) => monthLongFmt.format(new Date(`${value}-01T00:00:00Z`)),
      number: (n: number) => numberFmt.format(n),
    };
  }, [locale]);
}

/** Today as `YYYY-MM-DD` and this month as `YYYY-MM`, in the browser's time zone. */
export function today(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function thisMonth(): string {
  return today().slice(0, 7);
}

/** "12.50" or "12,50" → 1250; null when not a positive amount. */
export function parseCents(text: string): number | null {
  const cleaned = text.trim().replace(/\s/g, '');
  if (!cleaned) return null;
  const normalised = /,\d{1,2}$/.test(cleaned) ? cleaned.replace(/\./g, '').replace(',', '.') : cleaned.replace(/,/g, '');
  const value = Number(normalised);
  if (!Number.isFinite(value) || value <= 0) return null;
  return Math.round(value * 100);
}
