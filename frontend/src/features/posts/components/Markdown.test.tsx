import { render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { pinnedFirst, type Post } from '../api/posts';
import { Markdown } from './Markdown';

describe('Markdown', () => {
  it('renders markdown and never raw HTML or script links', () => {
    const { container } = render(
      <Markdown>{'**bold** <img src=x onerror="alert(1)"><script>alert(2)</script>\n\n[x](javascript:alert(3)) ![pic](https://evil.example/t.png)'}</Markdown>,
    );
    expect(container.querySelector('strong')?.textContent).toBe('bold');
    expect(container.querySelector('script')).toBeNull();
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('[onerror]')).toBeNull();
    const link = container.querySelector('a');
    expect(link?.getAttribute('href') ?? '').not.toMatch(/javascript/i);
    expect(container.textContent).toContain('[pic]');
  });
});

describe('pinnedFirst', () => {
  it('puts pinned posts first and keeps the order otherwise', () => {
    const p = (id: number, pinned: boolean) => ({ id, pinned }) as Post;
    expect(pinnedFirst([p(1, false), p(2, true), p(3, false), p(4, true)]).map((x) => x.id)).toEqual([2, 4, 1, 3]);
  });
});
