import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useDebounced } from '../../../lib/useDebounced';
import { useMembers } from '../api/members';

/** Search members by name or email, then pick one (a select of the first 20 matches). */
export function MemberPicker({
  value,
  onChange,
  id,
  searchLabel,
  ...aria
}: {
  value: number | null;
  onChange: (id: number | null) => void;
  id?: string;
  searchLabel: string;
  'aria-invalid'?: boolean;
  'aria-describedby'?: string;
  required?: boolean;
}) {
  const { t } = useTranslation('payments');
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const members = useMembers({ per_page: 20, sort: 'name', ...(q ? { q: q.slice(0, 100) } : {}) });
  return (
    <div className="member-picker">
      <input
        className="input"
        type="search"
        aria-label={searchLabel}
        placeholder={searchLabel}
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      <select
        id={id}
        name="member_id"
        className="input"
        value={value ?? ''}
        onChange={(e) => onChange(e.target.value ? Number(e.target.value) : null)}
        {...aria}
      >
        <option value="">{t('memberPick')}</option>
        {(members.data?.items ?? []).map((m) => (
          <option key={m.id} value={m.id}>
            {m.name}
            {m.email ? ` · ${m.email}` : ''}
          </option>
        ))}
      </select>
    </div>
  );
}
