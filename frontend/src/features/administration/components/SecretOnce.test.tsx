import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import i18n from '../../../i18n';
import { SecretOnce } from './SecretOnce';

describe('SecretOnce', () => {
  it('shows the secret with its warning, copies it, and hands back on done', async () => {
    await i18n.changeLanguage('en');
    const user = userEvent.setup();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const onDone = vi.fn();
    render(<SecretOnce secret="tsr_abc123" onDone={onDone} />);
    expect(screen.getByRole('alert').textContent).toMatch(/shown only once/);
    expect(screen.getByTestId('token-secret').textContent).toBe('tsr_abc123');
    await user.click(screen.getByRole('button', { name: /copy/i }));
    expect(writeText).toHaveBeenCalledWith('tsr_abc123');
    expect(screen.getByRole('button', { name: /copied/i })).toBeTruthy();
    await user.click(screen.getByRole('button', { name: /stored it/i }));
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('says so when the clipboard refuses', async () => {
    await i18n.changeLanguage('pt-BR');
    const user = userEvent.setup();
    Object.defineProperty(navigator, 'clipboard', {
      value: { writeText: vi.fn().mockRejectedValue(new Error('denied')) },
      configurable: true,
    });
    render(<SecretOnce secret="tsr_x" onDone={() => {}} />);
    await user.click(screen.getByRole('button', { name: /copiar/i }));
    expect(await screen.findByText(/Não foi possível copiar/)).toBeTruthy();
    await i18n.changeLanguage('en');
  });
});
