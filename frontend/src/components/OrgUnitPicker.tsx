import { useTranslation } from 'react-i18next';
import { depthOf, useOrgUnits, type OrgUnit } from '../features/org/api/orgUnits';

/**
 * A select of the org units in scope, indented as a tree. `kinds` limits what can be picked
 * (e.g. members belong to cells); `allLabel` adds an "all" choice (value null).
 */
export function OrgUnitPicker({
  value,
  onChange,
  kinds,
  allLabel,
  id,
  ...aria
}: {
  value: number | null;
  onChange: (id: number | null) => void;
  kinds?: OrgUnit['kind'][];
  allLabel?: string;
  id?: string;
  'aria-invalid'?: boolean;
  'aria-describedby'?: string;
  'aria-label'?: string;
  required?: boolean;
}) {
  const { t } = useTranslation();
  const units = useOrgUnits();
  return (
    <select
      id={id}
      className="input"
      value={value ?? ''}
      onChange={(e) => onChange(e.target.value ? Number(e.target.value) : null)}
      disabled={units.isPending}
      {...aria}
    >
      {allLabel !== undefined ? <option value="">{allLabel}</option> : <option value="">—</option>}
      {(units.data ?? []).map((u) => {
        const selectable = !kinds || kinds.includes(u.kind);
        return (
          <option key={u.id} value={u.id} disabled={!selectable}>
            {'\u00a0\u00a0'.repeat(depthOf(u))}
            {u.name}
            {selectable ? '' : ` (${t(`orgUnit.kind.${u.kind}`)})`}
          </option>
        );
      })}
    </select>
  );
}
