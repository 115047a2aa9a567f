import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../../api/errors';
import { useRoles } from '../../../auth';
import { ConfirmDialog, Modal } from '../../../components/ConfirmDialog';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FileUpload } from '../../../components/FileUpload';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { Card, Page } from '../../../components/Page';
import { Pagination } from '../../../components/Pagination';
import { useErrorText } from '../../../components/useErrorText';
import { depthOf, useOrgUnits, type OrgUnit } from '../../org/api/orgUnits';
import {
  formatPrice,
  parsePrice,
  useMaterialMutations,
  useMaterials,
  useMaterialTypes,
  useSetStock,
  type Material,
  type MaterialType,
} from '../api/materials';
import '../materials.css';

const PER_PAGE = 12;

type Dialog =
  | { kind: 'type'; type: MaterialType | null }
  | { kind: 'deleteType'; type: MaterialType }
  | { kind: 'material'; material: Material | null }
  | { kind: 'delete'; material: Material }
  | { kind: 'stock'; material: Material };

function TypeForm({ type, onDone, onCancel }: { type: MaterialType | null; onDone: () => void; onCancel: () => void }) {
  const { t } = useTranslation('materials');
  const { t: tc } = useTranslation();
  const { createType, updateType } = useMaterialMutations();
  const [name, setName] = useState(type?.name ?? '');
  const [description, setDescription] = useState(type?.description ?? '');
  const m = type ? updateType : createType;
  const error = m.error instanceof ApiError ? m.error : null;
  function submit(e: FormEvent) {
    e.preventDefault();
    const body = { name: name.trim(), description: description.trim() || null };
    if (type) updateType.mutate({ id: type.id, body }, { onSuccess: onDone });
    else createType.mutate(body, { onSuccess: onDone });
  }
  return (
    <form className="form" onSubmit={submit}>
      <FormField label={t('typeName')} required error={error?.fieldError('name')}>
        {(p) => <input {...p} className="input" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
      </FormField>
      <FormField label={t('typeDescription')} error={error?.fieldError('description')}>
        {(p) => <textarea {...p} className="input" value={description} maxLength={2000} onChange={(e) => setDescription(e.target.value)} />}
      </FormField>
      {m.error && !error?.fieldErrors.length ? <ErrorMessage error={m.error} /> : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button type="submit" className="btn btn--primary" disabled={m.isPending || !name.trim()}>
          {type ? tc('actions.save') : tc('actions.create')}
        </button>
      </div>
    </form>
  );
}

function MaterialForm({
  material,
  types,
  onDone,
  onCancel,
}: {
  material: Material | null;
  types: MaterialType[];
  onDone: (name: string) => void;
  onCancel: () => void;
}) {
  const { t, i18n } = useTranslation('materials');
  const { t: tc } = useTranslation();
  const { create, update } = useMaterialMutations();
  const [title, setTitle] = useState(material?.title ?? '');
  const [edition, setEdition] = useState(material?.edition ?? '');
  const [typeId, setTypeId] = useState<number | null>(material?.material_type_id ?? types[0]?.id ?? null);
  const [currency, setCurrency] = useState(material?.currency ?? 'BRL');
  const [price, setPrice] = useState(
    material ? new Intl.NumberFormat(i18n.language, { minimumFractionDigits: 2 }).format(material.unit_price_cents / 100) : '',
  );
  const [fileId, setFileId] = useState<number | null>(material?.file_id ?? null);
  const [fileUrl, setFileUrl] = useState<string | null>(material?.file_url ?? null);
  const m = material ? update : create;
  const error = m.error instanceof ApiError ? m.error : null;
  const cents = parsePrice(price);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!typeId || !cents) return;
    const body = {
      title: title.trim(),
      edition: edition.trim() || null,
      material_type_id: typeId,
      currency: currency.trim().toUpperCase() || null,
      unit_price_cents: cents,
      file_id: fileId,
    };
    if (material) update.mutate({ id: material.id, body }, { onSuccess: (r) => onDone(r.title) });
    else create.mutate(body, { onSuccess: (r) => onDone(r.title) });
  }

  return (
    <form className="form" onSubmit={submit}>
      <FormField label={t('material')} required error={error?.fieldError('title')}>
        {(p) => <input {...p} className="input" value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />}
      </FormField>
      <div className="form__row">
        <FormField label={t('type')} required error={error?.fieldError('material_type_id')}>
          {(p) => (
            <select {...p} className="input" value={typeId ?? ''} onChange={(e) => setTypeId(Number(e.target.value) || null)}>
              {types.map((ty) => (
                <option key={ty.id} value={ty.id}>
                  {ty.name}
                </option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label={t('edition')} error={error?.fieldError('edition')}>
          {(p) => <input {...p} className="input" value={edition} maxLength={100} onChange={(e) => setEdition(e.target.value)} />}
        </FormField>
      </div>
      <div className="form__row">
        <FormField
          label={t('price')}
          hint={t('priceHint', { currency })}
          required
          error={error?.fieldError('unit_price_cents') ?? (price && !cents ? '—' : undefined)}
        >
          {(p) => <input {...p} className="input" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} />}
        </FormField>
        <FormField label={t('currency')} error={error?.fieldError('currency')}>
          {(p) => (
            <input {...p} className="input" value={currency} maxLength={3} onChange={(e) => setCurrency(e.target.value.toUpperCase())} />
          )}
        </FormField>
      </div>
      <FileUpload
        label={t('cover')}
        fileType="material"
        accept="image/*,application/pdf"
        currentUrl={fileUrl}
        onUploaded={(f) => {
          setFileId(f.id);
          setFileUrl(f.url ?? null);
        }}
        onRemove={() => {
          setFileId(null);
          setFileUrl(null);
        }}
      />
      {m.error && !error?.fieldErrors.length ? <ErrorMessage error={m.error} /> : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button type="submit" className="btn btn--primary" disabled={m.isPending || !title.trim() || !cents || !typeId}>
          {material ? tc('actions.save') : tc('actions.create')}
        </button>
      </div>
    </form>
  );
}

function StockRow({ material, unit, baseDepth }: { material: Material; unit: OrgUnit; baseDepth: number }) {
  const { t } = useTranslation('materials');
  const errorText = useErrorText();
  const current = material.stock.find((s) => s.org_unit_id === unit.id)?.quantity ?? 0;
  const [value, setValue] = useState(String(current));
  const set = useSetStock();
  const quantity = Number(value);
  const valid = value !== '' && Number.isInteger(quantity) && quantity >= 0;
  const id = `stock-${material.id}-${unit.id}`;
  return (
    <li className="stock-row">
      <label htmlFor={id} className="stock-row__unit" style={{ paddingLeft: `${(depthOf(unit) - baseDepth) * 14}px` }}>
        {unit.name}
        <span className="sr-only"> — {t('quantity', { unit: unit.name })}</span>
      </label>
      <input
        id={id}
        className="input input--small stock-row__input"
        type="number"
        min={0}
        step={1}
        value={value}
        aria-invalid={Boolean(set.error) || !valid}
        aria-describedby={set.error ? `${id}-error` : undefined}
        onChange={(e) => {
          setValue(e.target.value);
          set.reset();
        }}
      />
      <button
        type="button"
        className="btn btn--small"
        disabled={!valid || set.isPending || quantity === (set.data?.quantity ?? current)}
        onClick={() => set.mutate({ id: material.id, unitId: unit.id, quantity })}
      >
        {t('saveStock')}
      </button>
      <span className="stock-row__status" aria-live="polite">
        {set.isSuccess ? (
          <span className="badge badge--ok">
            <Icon name="check" size={14} /> {t('stockSaved')}
          </span>
        ) : null}
      </span>
      {set.error ? (
        <p id={`${id}-error`} className="field__error stock-row__error" role="alert">
          {errorText(set.error)}
        </p>
      ) : null}
    </li>
  );
}

function StockEditor({ material }: { material: Material }) {
  const { t } = useTranslation('materials');
  const units = useOrgUnits();
  if (units.isPending) return <Loading />;
  if (units.isError) return <ErrorMessage error={units.error} />;
  const baseDepth = Math.min(...units.data.map(depthOf));
  return (
    <div className="form">
      <p className="muted small">{t('stockHint')}</p>
      <ul className="stock-list">
        {units.data.map((u) => (
          <StockRow key={u.id} material={material} unit={u} baseDepth={baseDepth} />
        ))}
      </ul>
    </div>
  );
}

function MaterialCard({
  material,
  typeName,
  isAdmin,
  onAction,
}: {
  material: Material;
  typeName: string;
  isAdmin: boolean;
  onAction: (d: Dialog) => void;
}) {
  const { t, i18n } = useTranslation('materials');
  const { t: tc } = useTranslation();
  const total = material.stock.reduce((sum, s) => sum + s.quantity, 0);
  const isImage = material.file_url && !/\.pdf($|\?)/i.test(material.file_url);
  return (
    <article className="material-card card">
      <div className="material-card__cover">
        {material.file_url && isImage ? (
          <img src={material.file_url} alt="" loading="lazy" />
        ) : material.file_url ? (
          <a href={material.file_url} target="_blank" rel="noreferrer" className="material-card__doc">
            <Icon name="files" size={32} />
            <span className="sr-only">{t('cover')}</span>
          </a>
        ) : (
          <Icon name="materials" size={32} />
        )}
      </div>
      <div className="material-card__body">
        <span className="badge badge--info">{typeName}</span>
        <h3>{material.title}</h3>
        {material.edition ? <p className="muted small">{material.edition}</p> : null}
        <p className="material-card__price money">{formatPrice(material.unit_price_cents, material.currency, i18n.language)}</p>
        <p className="small">
          <strong>{t('stockTotal', { count: total })}</strong>
          <span className="muted"> · {t('stockIn', { count: material.stock.filter((s) => s.quantity > 0).length })}</span>
        </p>
      </div>
      <div className="material-card__actions">
        <button type="button" className="btn btn--small" onClick={() => onAction({ kind: 'stock', material })}>
          {t('editStock')}
        </button>
        {isAdmin ? (
          <>
            <button
              type="button"
              className="btn btn--ghost btn--small btn--icon"
              onClick={() => onAction({ kind: 'material', material })}
              aria-label={`${tc('actions.edit')}: ${material.title}`}
              title={tc('actions.edit')}
            >
              <Icon name="pencil" />
            </button>
            <button
              type="button"
              className="btn btn--ghost btn--small btn--icon"
              onClick={() => onAction({ kind: 'delete', material })}
              aria-label={`${tc('actions.delete')}: ${material.title}`}
              title={tc('actions.delete')}
            >
              <Icon name="trash" />
            </button>
          </>
        ) : null}
      </div>
    </article>
  );
}

export function MaterialsPage() {
  const { t } = useTranslation('materials');
  const { t: tc } = useTranslation();
  const { isAdmin } = useRoles();
  const types = useMaterialTypes();
  const [typeId, setTypeId] = useState<number | null>(null);
  const [page, setPage] = useState(1);
  const materials = useMaterials(typeId, page, PER_PAGE);
  const { remove, removeType } = useMaterialMutations();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const typeList = types.data?.items ?? [];
  const typeName = (id: number) => typeList.find((ty) => ty.id === id)?.name ?? `#${id}`;
  const open = (d: Dialog) => {
    setNotice(null);
    remove.reset();
    removeType.reset();
    setDialog(d);
  };
  const close = () => setDialog(null);

  const modalTitle =
    dialog?.kind === 'type'
      ? dialog.type
        ? t('editType')
        : t('newType')
      : dialog?.kind === 'material'
        ? dialog.material
          ? t('editMaterial')
          : t('newMaterial')
        : dialog?.kind === 'stock'
          ? t('stockTitle', { name: dialog.material.title })
          : '';

  return (
    <Page
      title={t('title')}
      subtitle={t('subtitle')}
      actions={
        isAdmin ? (
          <>
            <button type="button" className="btn" onClick={() => open({ kind: 'type', type: null })}>
              <Icon name="plus" /> {t('newType')}
            </button>
            <button
              type="button"
              className="btn btn--primary"
              onClick={() => open({ kind: 'material', material: null })}
              disabled={typeList.length === 0}
              title={typeList.length === 0 ? t('noTypes') : undefined}
            >
              <Icon name="plus" /> {t('newMaterial')}
            </button>
          </>
        ) : null
      }
    >
      <div aria-live="polite">{notice ? <p className="notice notice--ok">{notice}</p> : null}</div>
      {types.isError ? <ErrorMessage error={types.error} onRetry={() => void types.refetch()} /> : null}
      {typeList.length > 0 ? (
        <div className="type-chips" role="group" aria-label={t('types')}>
          <button
            type="button"
            className={typeId === null ? 'chip chip--active' : 'chip'}
            aria-pressed={typeId === null}
            onClick={() => {
              setTypeId(null);
              setPage(1);
            }}
          >
            {t('allTypes')}
          </button>
          {typeList.map((ty) => (
            <span key={ty.id} className="chip-group">
              <button
                type="button"
                className={typeId === ty.id ? 'chip chip--active' : 'chip'}
                aria-pressed={typeId === ty.id}
                title={ty.description ?? undefined}
                onClick={() => {
                  setTypeId(ty.id);
                  setPage(1);
                }}
              >
                {ty.name}
              </button>
              {isAdmin ? (
                <>
                  <button
                    type="button"
                    className="chip chip--icon"
                    aria-label={`${t('editType')}: ${ty.name}`}
                    title={t('editType')}
                    onClick={() => open({ kind: 'type', type: ty })}
                  >
                    <Icon name="pencil" size={14} />
                  </button>
                  <button
                    type="button"
                    className="chip chip--icon"
                    aria-label={`${tc('actions.delete')}: ${ty.name}`}
                    title={tc('actions.delete')}
                    onClick={() => open({ kind: 'deleteType', type: ty })}
                  >
                    <Icon name="trash" size={14} />
                  </button>
                </>
              ) : null}
            </span>
          ))}
        </div>
      ) : null}
      {materials.isPending ? (
        <Loading />
      ) : materials.isError ? (
        <ErrorMessage error={materials.error} onRetry={() => void materials.refetch()} />
      ) : materials.data.items.length === 0 ? (
        <Card>
          <EmptyState />
        </Card>
      ) : (
        <>
          <div className="material-grid" aria-label={t('caption')}>
            {materials.data.items.map((m) => (
              <MaterialCard key={m.id} material={m} typeName={typeName(m.material_type_id)} isAdmin={isAdmin} onAction={open} />
            ))}
          </div>
          <Pagination page={page} perPage={PER_PAGE} total={materials.data.total} onPage={setPage} />
        </>
      )}
      <Modal open={dialog?.kind === 'type' || dialog?.kind === 'material' || dialog?.kind === 'stock'} title={modalTitle} onClose={close}>
        {dialog?.kind === 'type' ? (
          <TypeForm
            type={dialog.type}
            onCancel={close}
            onDone={() => {
              close();
              setNotice(tc('state.saved'));
            }}
          />
        ) : null}
        {dialog?.kind === 'material' ? (
          <MaterialForm
            material={dialog.material}
            types={typeList}
            onCancel={close}
            onDone={(name) => {
              close();
              setNotice(t('saved', { name }));
            }}
          />
        ) : null}
        {dialog?.kind === 'stock' ? (
          <>
            <StockEditor material={dialog.material} />
            <div className="form__actions">
              <button type="button" className="btn btn--primary" onClick={close}>
                {tc('actions.close')}
              </button>
            </div>
          </>
        ) : null}
      </Modal>
      <ConfirmDialog
        open={dialog?.kind === 'delete' || dialog?.kind === 'deleteType'}
        title={
          dialog?.kind === 'delete'
            ? t('deleteTitle', { name: dialog.material.title })
            : dialog?.kind === 'deleteType'
              ? t('deleteTypeTitle', { name: dialog.type.name })
              : ''
        }
        confirmLabel={tc('actions.delete')}
        danger
        busy={remove.isPending || removeType.isPending}
        onCancel={close}
        onConfirm={() => {
          if (dialog?.kind === 'delete') {
            const name = dialog.material.title;
            remove.mutate(dialog.material.id, {
              onSuccess: () => {
                close();
                setNotice(t('deleted', { name }));
              },
            });
          } else if (dialog?.kind === 'deleteType') {
            const name = dialog.type.name;
            removeType.mutate(dialog.type.id, {
              onSuccess: () => {
                close();
                if (typeId === dialog.type.id) setTypeId(null);
                setNotice(t('deleted', { name }));
              },
            });
          }
        }}
      >
        <p>{dialog?.kind === 'deleteType' ? t('deleteTypeBody') : t('deleteBody')}</p>
        {remove.error ? <ErrorMessage error={remove.error} /> : null}
        {removeType.error ? <ErrorMessage error={removeType.error} /> : null}
      </ConfirmDialog>
    </Page>
  );
}
