import { describe, expect, it } from 'vitest';
import i18n from '../../../i18n';
import { cacheResultText, formatBytes } from './cacheWording';

const en = i18n.getFixedT('en', 'administration');
const pt = i18n.getFixedT('pt-BR', 'administration');

describe('cacheResultText', () => {
  it('words a clear in English, pluralised', () => {
    const clear = (n: number) => cacheResultText(en, { kind: 'clear', answer: { success: true, message: '', cleared_count: n } });
    expect(clear(12)).toBe('Cleared 12 cache entries');
    expect(clear(1)).toBe('Cleared 1 cache entry');
    expect(clear(0)).toBe('Nothing to clear: no cache entries');
  });

  it('words a clear in Brazilian Portuguese, pluralised', () => {
    const clear = (n: number) => cacheResultText(pt, { kind: 'clear', answer: { success: true, message: '', cleared_count: n } });
    expect(clear(12)).toBe('12 entradas de cache removidas');
    expect(clear(1)).toBe('1 entrada de cache removida');
    expect(clear(0)).toBe('Nada a limpar: nenhuma entrada no cache');
  });

  it('words a warm, with dashboards only when they were asked for', () => {
    expect(cacheResultText(en, { kind: 'warm', answer: { success: true, message: '', cached_count: 5 } })).toBe('Cached 5 file URLs');
    expect(
      cacheResultText(en, { kind: 'warm', answer: { success: true, message: '', cached_count: 1, dashboards_count: 3 } }),
    ).toBe('Cached 1 file URL and 3 dashboards');
    expect(
      cacheResultText(pt, { kind: 'warm', answer: { success: true, message: '', cached_count: 2, dashboards_count: 1 } }),
    ).toBe('2 URLs de arquivos guardadas em cache e 1 painel');
    expect(
      cacheResultText(en, { kind: 'warm', answer: { success: true, message: '', cached_count: 2, dashboards_count: null } }),
    ).toBe('Cached 2 file URLs');
  });

  it('words a refresh', () => {
    const refresh = (n: number, t = en) =>
      cacheResultText(t, { kind: 'refresh', answer: { success: true, message: '', refreshed_count: n } });
    expect(refresh(2)).toBe('Refreshed 2 expiring URLs');
    expect(refresh(1)).toBe('Refreshed 1 expiring URL');
    expect(refresh(3, pt)).toBe('3 URLs a expirar renovadas');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(512, 'en')).toBe('512 B');
    expect(formatBytes(1536, 'en')).toBe('1.5 KiB');
    expect(formatBytes(256 * 1024 * 1024, 'pt-BR')).toBe('256 MiB');
  });
});
