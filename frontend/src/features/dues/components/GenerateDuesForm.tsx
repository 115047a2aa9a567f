import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../../api/errors';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { OrgUnitPicker } from '../../../components/OrgUnitPicker';
import { parseCents, thisMonth } from '../../../lib/format';
import { useGenerateDues } from '../api/dues';

export function GenerateDuesForm({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation('dues');
  const { t: tc } = useTranslation();
  const generate = useGenerateDues();
  const [period, setPeriod] = useState(thisMonth());
  const [amount, setAmount] = useState('25.00');
  const [currency, setCurrency] = useState('BRL');
  const [dueDate, setDueDate] = useState('');
  const [unitId, setUnitId] = useState<number | null>(null);
  const [amountError, setAmountError] = useState<string | undefined>();
  const err = generate.error instanceof ApiError ? generate.error : null;

  function submit(e: FormEvent) {
    e.preventDefault();
    const cents = parseCents(amount);
    setAmountError(cents === null ? t('amountInvalid') : undefined);
    if (cents === null) return;
    generate.mutate({
      period,
      amount_cents: cents,
      currency: currency.trim().toUpperCase() || null,
      due_date: dueDate || null,
      org_unit_id: unitId,
    });
  }

  return (
    <form className="form" onSubmit={submit} noValidate>
      <p className="muted">{t('generateIntro')}</p>
      <div className="form__row">
        <FormField label={t('period')} required error={err?.fieldError('period')}>
          {(p) => <input {...p} className="input" type="month" name="period" value={period} onChange={(e) => setPeriod(e.target.value)} />}
        </FormField>
        <FormField label={t('amount')} required error={amountError ?? err?.fieldError('amount_cents')}>
          {(p) => <input {...p} className="input" name="amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />}
        </FormField>
        <FormField label={t('currency')} error={err?.fieldError('currency')}>
          {(p) => <input {...p} className="input" name="currency" maxLength={3} value={currency} onChange={(e) => setCurrency(e.target.value)} />}
        </FormField>
      </div>
      <div className="form__row">
        <FormField label={t('dueDate')} hint={t('dueDateHint')} error={err?.fieldError('due_date')}>
          {(p) => <input {...p} className="input" type="date" value={dueDate} onChange={(e) => setDueDate(e.target.value)} />}
        </FormField>
        <FormField label={t('unit')} error={err?.fieldError('org_unit_id')}>
          {(p) => <OrgUnitPicker {...p} value={unitId} onChange={setUnitId} allLabel={tc('orgUnit.all')} />}
        </FormField>
      </div>
      {generate.isError && (!err || err.fieldErrors.length === 0) ? <ErrorMessage error={generate.error} /> : null}
      {generate.data ? (
        <p className="notice notice--ok" role="status">
          {t('generated', { created: generate.data.created, skipped: generate.data.skipped })}
        </p>
      ) : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onClose}>
          {tc('actions.close')}
        </button>
        <button type="submit" className="btn btn--primary" disabled={generate.isPending}>
          {t('generate')}
        </button>
      </div>
    </form>
  );
}
