import { describe, expect, it } from 'vitest';
import { formatPrice, parsePrice } from './materials';

describe('parsePrice', () => {
  it('reads both decimal separators into cents', () => {
    expect(parsePrice('12,50')).toBe(1250);
    expect(parsePrice('12.5')).toBe(1250);
    expect(parsePrice('7')).toBe(700);
    expect(parsePrice('1.234,56')).toBe(123456);
    expect(parsePrice('1,234.56')).toBe(123456);
  });
  it('refuses what is not a positive price', () => {
    expect(parsePrice('')).toBeNull();
    expect(parsePrice('abc')).toBeNull();
    expect(parsePrice('0')).toBeNull();
    expect(parsePrice('-3')).toBeNull();
  });
});

describe('formatPrice', () => {
  it('formats cents in the currency and language', () => {
    expect(formatPrice(1250, 'BRL', 'pt-BR').replace(/\s/g, ' ')).toBe('R$ 12,50');
    expect(formatPrice(1250, 'USD', 'en')).toBe('$12.50');
  });
});
