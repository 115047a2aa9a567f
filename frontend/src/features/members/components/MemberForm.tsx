import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../../api/errors';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FileUpload } from '../../../components/FileUpload';
import { FormField } from '../../../components/FormField';
import { OrgUnitPicker } from '../../../components/OrgUnitPicker';
import { today } from '../../../lib/format';
import { MEMBER_STATUSES, useSaveMember, type Member, type MemberStatus } from '../api/members';

/** Create (member null) or edit a member; field errors from the API appear under their field. */
export function MemberForm({
  member,
  defaultUnitId,
  onDone,
  onCancel,
}: {
  member: Member | null;
  defaultUnitId: number | null;
  onDone: (member: Member) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation('members');
  const { t: tc } = useTranslation();
  const save = useSaveMember(member?.id ?? null);
  const [name, setName] = useState(member?.name ?? '');
  const [email, setEmail] = useState(member?.email ?? '');
  const [phone, setPhone] = useState(member?.phone ?? '');
  const [unitId, setUnitId] = useState<number | null>(member?.org_unit_id ?? defaultUnitId);
  const [status, setStatus] = useState<MemberStatus>(member?.status ?? 'active');
  const [joinedOn, setJoinedOn] = useState(member?.joined_on ?? '');
  const [notes, setNotes] = useState(member?.notes ?? '');
  const [avatarId, setAvatarId] = useState<number | null | undefined>(undefined);
  const [localError, setLocalError] = useState<string | null>(null);

  const err = save.error instanceof ApiError ? save.error : null;
  const fe = (f: string) => err?.fieldError(f);
  const unknownFieldErrors =
    err?.fieldErrors.filter(
      (e) => !['name', 'email', 'phone', 'org_unit_id', 'status', 'joined_on', 'notes', 'avatar_file_id'].includes(e.field),
    ) ?? [];

  function submit(e: FormEvent) {
    e.preventDefault();
    setLocalError(null);
    if (!name.trim()) {
      setLocalError('name');
      return;
    }
    if (unitId === null) {
      setLocalError('org_unit_id');
      return;
    }
    const body = {
      name: name.trim(),
      email: email.trim() || null,
      phone: phone.trim() || null,
      org_unit_id: unitId,
      status,
      joined_on: joinedOn || null,
      notes: notes.trim() || null,
      ...(avatarId !== undefined ? { avatar_file_id: avatarId } : {}),
    };
    save.mutate(body, { onSuccess: onDone });
  }

  return (
    <form className="form" onSubmit={submit} noValidate>
      <FileUpload
        label={t('form.avatar')}
        fileType="avatar"
        accept="image/png,image/jpeg,image/webp,image/gif"
        orgUnitId={unitId}
        currentUrl={avatarId === null ? null : member?.avatar_url}
        onUploaded={(f) => setAvatarId(f.id)}
        onRemove={member?.avatar_url || avatarId ? () => setAvatarId(null) : undefined}
      />
      <FormField
        label={t('form.name')}
        required
        error={fe('name') ?? (localError === 'name' ? tc('errors:validation_failed') : undefined)}
      >
        {(p) => <input {...p} className="input" name="name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
      </FormField>
      <div className="form__row">
        <FormField label={t('form.email')} error={fe('email')}>
          {(p) => <input {...p} className="input" type="email" name="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
        </FormField>
        <FormField label={t('form.phone')} hint={t('form.phoneHint')} error={fe('phone')}>
          {(p) => <input {...p} className="input" type="tel" name="phone" value={phone} onChange={(e) => setPhone(e.target.value)} />}
        </FormField>
      </div>
      <div className="form__row">
        <FormField
          label={t('form.unit')}
          hint={t('form.unitHint')}
          required
          error={fe('org_unit_id') ?? (localError === 'org_unit_id' ? tc('errors:validation_failed') : undefined)}
        >
          {(p) => <OrgUnitPicker {...p} value={unitId} onChange={setUnitId} kinds={['cell']} />}
        </FormField>
        <FormField label={t('form.status')} error={fe('status')}>
          {(p) => (
            <select {...p} className="input" value={status} onChange={(e) => setStatus(e.target.value as MemberStatus)}>
              {MEMBER_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(`statuses.${s}`)}
                </option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label={t('form.joinedOn')} error={fe('joined_on')}>
          {(p) => (
            <input {...p} className="input" type="date" max={today()} value={joinedOn} onChange={(e) => setJoinedOn(e.target.value)} />
          )}
        </FormField>
      </div>
      <FormField label={t('form.notes')} error={fe('notes')}>
        {(p) => <textarea {...p} className="input" maxLength={2000} value={notes} onChange={(e) => setNotes(e.target.value)} />}
      </FormField>
      {err && (err.fieldErrors.length === 0 || unknownFieldErrors.length > 0) ? <ErrorMessage error={err} /> : null}
      {unknownFieldErrors.map((e) => (
        <p key={e.field} className="field__error">
          {e.field}: {e.message}
        </p>
      ))}
      {save.error && !err ? <ErrorMessage error={save.error} /> : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button type="submit" className="btn btn--primary" disabled={save.isPending}>
          {member ? tc('actions.save') : tc('actions.create')}
        </button>
      </div>
    </form>
  );
}
