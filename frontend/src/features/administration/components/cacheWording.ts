import type { TFunction } from 'i18next';
import type { CacheResult } from '../api/cache';

/**
 * The result of a cache action in the user's words, pluralised: "Cleared 12 cache entries",
 * "Cached 1 file URL and 3 dashboards", "Refreshed 2 expiring URLs". Built from the counts
 * (not the server's English `message`) so it is translated.
 */
export function cacheResultText(t: TFunction<'administration'>, result: CacheResult): string {
  switch (result.kind) {
    case 'clear':
      return t('cache.result.cleared', { count: result.answer.cleared_count });
    case 'warm': {
      const cached = t('cache.result.cached', { count: result.answer.cached_count });
      const dashboards = result.answer.dashboards_count;
      return dashboards == null ? cached : `${cached} ${t('cache.result.dashboards', { count: dashboards })}`;
    }
    case 'refresh':
      return t('cache.result.refreshed', { count: result.answer.refreshed_count });
  }
}

/** Bytes in a short human form (binary units, as Redis reports them). */
export function formatBytes(bytes: number, locale: string): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value)} ${units[unit]}`;
}

export function formatPercent(ratio: number, locale: string): string {
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(ratio);
}
