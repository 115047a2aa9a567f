import { describe, expect, it } from 'vitest';
import { formatMoney, parseCents } from './format';

describe('money', () => {
  it('formats cents in the locale', () => {
    expect(formatMoney('pt-BR', 2500, 'BRL').replace(/\s/g, ' ')).toBe('R$ 25,00');
    expect(formatMoney('en', 123456, 'BRL')).toBe('R$1,234.56');
  });
  it('parses amounts typed either way', () => {
    expect(parseCents('25')).toBe(2500);
    expect(parseCents('25,50')).toBe(2550);
    expect(parseCents('1.234,56')).toBe(123456);
    expect(parseCents('1,234.56')).toBe(123456);
    expect(parseCents('0')).toBeNull();
    expect(parseCents('abc')).toBeNull();
  });
});
