import { describe, expect, it } from 'vitest';
import i18n, { toSupported } from './index';

function keys(obj: object, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('i18n', () => {
  it('has every English string in Portuguese too', () => {
    const en = i18n.getDataByLanguage('en') ?? {};
    const pt = i18n.getDataByLanguage('pt-BR') ?? {};
    for (const ns of Object.keys(en)) {
      expect(keys(pt[ns] ?? {}).sort(), ns).toEqual(keys(en[ns] ?? {}).sort());
    }
  });
  it('maps browser languages to the supported ones', () => {
    expect(toSupported('pt')).toBe('pt-BR');
    expect(toSupported('pt-PT')).toBe('pt-BR');
    expect(toSupported('en-GB')).toBe('en');
    expect(toSupported('de')).toBe('en');
  });
});
