import { useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { Page } from '../../../components/Page';
import { useFormat } from '../../../lib/format';
import { unitName, useOrgUnits } from '../../org/api/orgUnits';
import { useMaterialList, useMaterialTypes } from '../api/materials';

export function MaterialsPage() {
  const { t } = useTranslation('materials');
  const f = useFormat();
  const [params, setParams] = useSearchParams();
  const typeId = Number(params.get('type')) || null;
  const types = useMaterialTypes();
  const list = useMaterialList(typeId);
  const units = useOrgUnits();
  const typeName = (id: number) => types.data?.items.find((x) => x.id === id)?.name ?? '';

  return (
    <Page title={t('title')} subtitle={t('subtitle')}>
      <div className="card toolbar">
        <FormField label={t('type')}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={typeId ?? ''}
              onChange={(e) => setParams(e.target.value ? { type: e.target.value } : {}, { replace: true })}
            >
              <option value="">{t('anyType')}</option>
              {(types.data?.items ?? []).map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </select>
          )}
        </FormField>
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorMessage error={list.error} onRetry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <EmptyState />
      ) : (
        <ul className="material-grid">
          {list.data.items.map((m) => {
            const total = m.stock.reduce((s, x) => s + x.quantity, 0);
            const top = [...m.stock].sort((a, b) => b.quantity - a.quantity).slice(0, 3);
            return (
              <li key={m.id} className="card material">
                <div className="material__cover">
                  {m.file_url ? (
                    <img src={m.file_url} alt={t('coverOf', { title: m.title })} loading="lazy" />
                  ) : (
                    <Icon name="materials" size={36} />
                  )}
                </div>
                <div className="material__body">
                  <span className="badge badge--info">{typeName(m.material_type_id)}</span>
                  <h2 className="material__title">{m.title}</h2>
                  {m.edition ? <p className="muted small">{m.edition}</p> : null}
                  <p className="money material__price">{f.money(m.unit_price_cents, m.currency)}</p>
                  <p className="small">{t('stockTotal', { count: total })}</p>
                  {top.length > 0 ? (
                    <ul className="material__stock" aria-label={t('stockByUnit')}>
                      {top.map((s) => (
                        <li key={s.org_unit_id} className="muted small">
                          {unitName(units.data, s.org_unit_id)}: {f.number(s.quantity)}
                        </li>
                      ))}
                    </ul>
                  ) : null}
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Page>
  );
}
