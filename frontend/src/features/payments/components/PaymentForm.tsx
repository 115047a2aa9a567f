import { useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, unwrap } from '../../../api/client';
import { ApiError } from '../../../api/errors';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FileUpload } from '../../../components/FileUpload';
import { FormField } from '../../../components/FormField';
import { parseCents, today, useFormat } from '../../../lib/format';
import type { Dues } from '../../dues/api/dues';
import { MemberPicker } from '../../members/components/MemberPicker';
import { METHODS, PURPOSES, useCreatePayment, useMaterials, type Method, type Payment, type Purpose } from '../api/payments';

/**
 * Record a payment. With `dues` given, it pays those dues (member, amount and currency fixed);
 * otherwise the purpose, member and what it pays are chosen here.
 */
export function PaymentForm({
  dues,
  onDone,
  onCancel,
}: {
  dues?: Dues;
  onDone: (payment: Payment) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation('payments');
  const { t: tc } = useTranslation();
  const f = useFormat();
  const create = useCreatePayment();
  const [purpose, setPurpose] = useState<Purpose>(dues ? 'dues' : 'donation');
  const [memberId, setMemberId] = useState<number | null>(dues?.member_id ?? null);
  const [duesId, setDuesId] = useState<number | null>(dues?.id ?? null);
  const [materialId, setMaterialId] = useState<number | null>(null);
  const [quantity, setQuantity] = useState('1');
  const [amount, setAmount] = useState(dues ? (dues.amount_cents / 100).toFixed(2) : '');
  const [method, setMethod] = useState<Method>('pix');
  const [paidOn, setPaidOn] = useState(today());
  const [note, setNote] = useState('');
  const [receiptId, setReceiptId] = useState<number | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});

  const openDues = useQuery({
    queryKey: ['dues', 'open-of', memberId],
    queryFn: () =>
      unwrap(api.GET('/api/dues', { params: { query: { member_id: memberId ?? 0, status: 'open', per_page: 100 } } })),
    enabled: !dues && purpose === 'dues' && memberId !== null,
  });
  const materials = useMaterials();
  const material = materials.data?.items.find((m) => m.id === materialId);
  const chosenDues = dues ?? openDues.data?.items.find((d) => d.id === duesId);

  const err = create.error instanceof ApiError ? create.error : null;
  const fe = (field: string) => local[field] ?? err?.fieldError(field);

  function pickDues(id: number | null) {
    setDuesId(id);
    const d = openDues.data?.items.find((x) => x.id === id);
    if (d) setAmount((d.amount_cents / 100).toFixed(2));
  }
  function pickMaterial(id: number | null, qty = quantity) {
    setMaterialId(id);
    const m = materials.data?.items.find((x) => x.id === id);
    const n = Number(qty) || 0;
    if (m && n > 0) setAmount(((m.unit_price_cents * n) / 100).toFixed(2));
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const problems: Record<string, string> = {};
    const cents = parseCents(amount);
    if (cents === null) problems.amount_cents = t('amountInvalid');
    if (memberId === null) problems.member_id = t('memberRequired');
    setLocal(problems);
    if (Object.keys(problems).length > 0 || cents === null || memberId === null) return;
    create.mutate(
      {
        member_id: memberId,
        purpose,
        amount_cents: cents,
        currency: chosenDues?.currency ?? material?.currency ?? 'BRL',
        method,
        paid_on: paidOn || null,
        note: note.trim() || null,
        receipt_file_id: receiptId,
        ...(purpose === 'dues' ? { dues_id: duesId } : {}),
        ...(purpose === 'material' ? { material_id: materialId, quantity: Number(quantity) || null } : {}),
      },
      { onSuccess: onDone },
    );
  }

  return (
    <form className="form" onSubmit={submit} noValidate>
      {dues ? (
        <p className="muted">
          {f.monthLong(dues.period)} · <strong className="money">{f.money(dues.amount_cents, dues.currency)}</strong>
        </p>
      ) : (
        <>
          <FormField label={t('purpose')} error={fe('purpose')}>
            {(p) => (
              <select {...p} className="input" name="purpose" value={purpose} onChange={(e) => setPurpose(e.target.value as Purpose)}>
                {PURPOSES.map((x) => (
                  <option key={x} value={x}>
                    {t(`purposes.${x}`)}
                  </option>
                ))}
              </select>
            )}
          </FormField>
          <FormField label={t('member')} required error={fe('member_id')}>
            {(p) => <MemberPicker {...p} value={memberId} onChange={setMemberId} searchLabel={t('memberSearch')} />}
          </FormField>
          {purpose === 'dues' ? (
            <FormField label={t('duesPick')} required error={fe('dues_id')}>
              {(p) => (
                <select {...p} className="input" name="dues_id" value={duesId ?? ''} onChange={(e) => pickDues(e.target.value ? Number(e.target.value) : null)}>
                  <option value="">{memberId && openDues.data?.items.length === 0 ? t('noOpenDues') : '—'}</option>
                  {(openDues.data?.items ?? []).map((d) => (
                    <option key={d.id} value={d.id}>
                      {f.monthLong(d.period)} · {f.money(d.amount_cents, d.currency)}
                    </option>
                  ))}
                </select>
              )}
            </FormField>
          ) : null}
          {purpose === 'material' ? (
            <div className="form__row">
              <FormField label={t('material')} required error={fe('material_id')}>
                {(p) => (
                  <select
                    {...p}
                    className="input"
                    name="material_id"
                    value={materialId ?? ''}
                    onChange={(e) => pickMaterial(e.target.value ? Number(e.target.value) : null)}
                  >
                    <option value="">—</option>
                    {(materials.data?.items ?? []).map((m) => (
                      <option key={m.id} value={m.id}>
                        {m.title}
                        {m.edition ? ` (${m.edition})` : ''} · {f.money(m.unit_price_cents, m.currency)}
                      </option>
                    ))}
                  </select>
                )}
              </FormField>
              <FormField label={t('quantity')} required error={fe('quantity')}>
                {(p) => (
                  <input
                    {...p}
                    className="input"
                    type="number"
                    name="quantity"
                    min={1}
                    value={quantity}
                    onChange={(e) => {
                      setQuantity(e.target.value);
                      pickMaterial(materialId, e.target.value);
                    }}
                  />
                )}
              </FormField>
            </div>
          ) : null}
        </>
      )}
      <div className="form__row">
        <FormField label={t('amount')} required error={fe('amount_cents')}>
          {(p) => (
            <input
              {...p}
              className="input"
              name="amount"
              inputMode="decimal"
              value={amount}
              readOnly={Boolean(dues)}
              onChange={(e) => setAmount(e.target.value)}
            />
          )}
        </FormField>
        <FormField label={t('method')} error={fe('method')}>
          {(p) => (
            <select {...p} className="input" name="method" value={method} onChange={(e) => setMethod(e.target.value as Method)}>
              {METHODS.map((m) => (
                <option key={m} value={m}>
                  {t(`methods.${m}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label={t('paidOn')} error={fe('paid_on')}>
          {(p) => <input {...p} className="input" type="date" name="paid_on" max={today()} value={paidOn} onChange={(e) => setPaidOn(e.target.value)} />}
        </FormField>
      </div>
      <FormField label={t('note')} error={fe('note')}>
        {(p) => <input {...p} className="input" name="note" maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />}
      </FormField>
      <FileUpload
        label={t('receipt')}
        fileType="receipt"
        accept="application/pdf,image/png,image/jpeg,image/webp"
        onUploaded={(file) => setReceiptId(file.id)}
        onRemove={receiptId ? () => setReceiptId(null) : undefined}
      />
      {create.isError && (!err || err.fieldErrors.length === 0 || err.fieldErrors.some((x) => x.field === 'body')) ? (
        <ErrorMessage error={create.error} />
      ) : null}
      {err?.fieldErrors
        .filter((x) => !['purpose', 'member_id', 'dues_id', 'material_id', 'quantity', 'amount_cents', 'method', 'paid_on', 'note'].includes(x.field))
        .map((x) => (
          <p key={x.field} className="field__error">
            {x.field}: {x.message}
          </p>
        ))}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button type="submit" className="btn btn--primary" disabled={create.isPending}>
          {t('new')}
        </button>
      </div>
    </form>
  );
}
