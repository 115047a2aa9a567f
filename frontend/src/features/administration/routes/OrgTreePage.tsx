import { useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../../../api/errors';
import { ConfirmDialog, Modal } from '../../../components/ConfirmDialog';
import { EmptyState } from '../../../components/EmptyState';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { FormField } from '../../../components/FormField';
import { Icon } from '../../../components/Icon';
import { Loading } from '../../../components/Loading';
import { Card, Page } from '../../../components/Page';
import { depthOf, useOrgUnits, type OrgUnit } from '../../org/api/orgUnits';
import { useOrgUnitMutations } from '../api/admin';
import { buildOrgTree, canMoveUnder, childKind, type OrgNode } from '../api/orgTree';
import { AdminOnly } from '../components/AdminOnly';
import '../admin.css';

type Dialog =
  | { kind: 'create'; parent: OrgUnit | null }
  | { kind: 'rename'; unit: OrgUnit }
  | { kind: 'move'; unit: OrgUnit }
  | { kind: 'delete'; unit: OrgUnit };

function UnitForm({
  dialog,
  units,
  onDone,
  onCancel,
}: {
  dialog: Exclude<Dialog, { kind: 'delete' }>;
  units: OrgUnit[];
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation('administration');
  const { t: tc } = useTranslation();
  const { create, update } = useOrgUnitMutations();
  const initialName = dialog.kind === 'rename' ? dialog.unit.name : '';
  const [name, setName] = useState(initialName);
  const [parentId, setParentId] = useState<number | null>(
    dialog.kind === 'move' ? null : dialog.kind === 'create' ? (dialog.parent?.id ?? null) : null,
  );
  const mutation = dialog.kind === 'create' ? create : update;
  const error = mutation.error instanceof ApiError ? mutation.error : null;
  const targets = dialog.kind === 'move' ? units.filter((u) => canMoveUnder(dialog.unit, u)) : [];
  const createKind = dialog.kind === 'create' ? (dialog.parent ? childKind(dialog.parent.kind) : 'central') : null;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (dialog.kind === 'create' && createKind) {
      create.mutate(
        { name: name.trim(), kind: createKind, parent_id: dialog.parent?.id ?? null },
        { onSuccess: (u) => onDone(t('org.created', { name: u.name })) },
      );
    } else if (dialog.kind === 'rename') {
      update.mutate(
        { id: dialog.unit.id, body: { name: name.trim() } },
        { onSuccess: (u) => onDone(t('org.saved', { name: u.name })) },
      );
    } else if (dialog.kind === 'move' && parentId) {
      update.mutate(
        { id: dialog.unit.id, body: { parent_id: parentId } },
        { onSuccess: (u) => onDone(t('org.saved', { name: u.name })) },
      );
    }
  }

  return (
    <form className="form" onSubmit={submit}>
      {dialog.kind === 'create' ? (
        <p className="muted">
          {t('org.kind')}: <strong>{createKind ? tc(`orgUnit.kind.${createKind}`) : '—'}</strong>
          {dialog.parent ? ` · ${t('org.parent')}: ${dialog.parent.name}` : ''}
        </p>
      ) : null}
      {dialog.kind !== 'move' ? (
        <FormField label={t('org.name')} required error={error?.fieldError('name')}>
          {(p) => (
            <input {...p} className="input" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} autoFocus />
          )}
        </FormField>
      ) : (
        <FormField label={t('org.newParent')} hint={t('org.moveHint')} required error={error?.fieldError('parent_id')}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={parentId ?? ''}
              onChange={(e) => setParentId(e.target.value ? Number(e.target.value) : null)}
            >
              <option value="">—</option>
              {targets.map((u) => (
                <option key={u.id} value={u.id}>
                  {'\u00a0\u00a0'.repeat(depthOf(u))}
                  {u.name}
                </option>
              ))}
            </select>
          )}
        </FormField>
      )}
      {mutation.error && !error?.fieldErrors.length ? <ErrorMessage error={mutation.error} /> : null}
      <div className="form__actions">
        <button type="button" className="btn btn--ghost" onClick={onCancel}>
          {tc('actions.cancel')}
        </button>
        <button
          type="submit"
          className="btn btn--primary"
          disabled={mutation.isPending || (dialog.kind === 'move' ? !parentId : !name.trim())}
        >
          {dialog.kind === 'create' ? tc('actions.create') : tc('actions.save')}
        </button>
      </div>
    </form>
  );
}

function TreeNode({
  node,
  open,
  toggle,
  onAction,
  drag,
}: {
  node: OrgNode;
  open: Set<number>;
  toggle: (id: number) => void;
  onAction: (d: Dialog) => void;
  drag: {
    dragging: OrgUnit | null;
    over: number | null;
    start: (u: OrgUnit | null) => void;
    enter: (u: OrgUnit | null) => void;
    drop: (target: OrgUnit) => void;
  };
}) {
  const { t } = useTranslation('administration');
  const { t: tc } = useTranslation();
  const { unit, children } = node;
  const expanded = open.has(unit.id);
  const canDrop = drag.dragging !== null && canMoveUnder(drag.dragging, unit);
  const groupId = `org-children-${unit.id}`;
  return (
    <li>
      <div
        className={drag.over === unit.id && canDrop ? 'tree__row tree__row--drop' : 'tree__row'}
        onDragOver={(e) => {
          if (canDrop) {
            e.preventDefault();
            if (drag.over !== unit.id) drag.enter(unit);
          }
        }}
        onDragLeave={() => drag.over === unit.id && drag.enter(null)}
        onDrop={(e) => {
          e.preventDefault();
          if (canDrop) drag.drop(unit);
        }}
      >
        {children.length ? (
          <button
            type="button"
            className={expanded ? 'tree__toggle tree__toggle--open' : 'tree__toggle'}
            aria-expanded={expanded}
            aria-controls={groupId}
            aria-label={expanded ? t('org.collapse', { name: unit.name }) : t('org.expand', { name: unit.name })}
            onClick={() => toggle(unit.id)}
          >
            <Icon name="chevronRight" />
          </button>
        ) : (
          <span className="tree__spacer" />
        )}
        <span
          className="tree__name"
          draggable={unit.kind !== 'central'}
          onDragStart={(e) => {
            e.dataTransfer.effectAllowed = 'move';
            e.dataTransfer.setData('text/plain', String(unit.id));
            drag.start(unit);
          }}
          onDragEnd={() => drag.start(null)}
        >
          {unit.name}
        </span>
        <span className={`badge badge--${unit.kind === 'cell' ? 'ok' : unit.kind === 'central' ? 'warn' : 'info'}`}>
          {tc(`orgUnit.kind.${unit.kind}`)}
        </span>
        {node.descendants ? <span className="tree__meta">{t('org.children', { count: node.descendants })}</span> : null}
        <span className="tree__actions">
          {childKind(unit.kind) ? (
            <button
              type="button"
              className="btn btn--ghost btn--small btn--icon"
              title={t('org.newChild')}
              aria-label={`${t('org.newChild')}: ${unit.name}`}
              onClick={() => onAction({ kind: 'create', parent: unit })}
            >
              <Icon name="plus" />
            </button>
          ) : null}
          <button
            type="button"
            className="btn btn--ghost btn--small btn--icon"
            title={t('org.rename')}
            aria-label={`${t('org.rename')}: ${unit.name}`}
            onClick={() => onAction({ kind: 'rename', unit })}
          >
            <Icon name="pencil" />
          </button>
          {unit.kind !== 'central' ? (
            <button
              type="button"
              className="btn btn--ghost btn--small"
              aria-label={`${t('org.move')}: ${unit.name}`}
              onClick={() => onAction({ kind: 'move', unit })}
            >
              {t('org.move')}
            </button>
          ) : null}
          <button
            type="button"
            className="btn btn--ghost btn--small btn--icon"
            title={tc('actions.delete')}
            aria-label={`${tc('actions.delete')}: ${unit.name}`}
            onClick={() => onAction({ kind: 'delete', unit })}
          >
            <Icon name="trash" />
          </button>
        </span>
      </div>
      {children.length && expanded ? (
        <ul id={groupId}>
          {children.map((c) => (
            <TreeNode key={c.unit.id} node={c} open={open} toggle={toggle} onAction={onAction} drag={drag} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

export function OrgTreePage() {
  const { t } = useTranslation('administration');
  return (
    <AdminOnly title={t('org.title')}>
      <OrgTreePageContent />
    </AdminOnly>
  );
}

function OrgTreePageContent() {
  const { t, i18n } = useTranslation('administration');
  const { t: tc } = useTranslation();
  const units = useOrgUnits();
  const { update, remove } = useOrgUnitMutations();
  const tree = useMemo(() => buildOrgTree(units.data ?? [], i18n.language), [units.data, i18n.language]);
  const [closed, setClosed] = useState<Set<number>>(new Set());
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [dragging, setDragging] = useState<OrgUnit | null>(null);
  const [over, setOver] = useState<number | null>(null);

  // Every unit starts expanded; `closed` holds the collapsed ones.
  const open = useMemo(() => new Set((units.data ?? []).map((u) => u.id).filter((id) => !closed.has(id))), [units.data, closed]);
  const toggle = (id: number) =>
    setClosed((cur) => {
      const next = new Set(cur);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const drag = {
    dragging,
    over,
    start: (u: OrgUnit | null) => {
      setDragging(u);
      setOver(null);
    },
    enter: (u: OrgUnit | null) => setOver(u?.id ?? null),
    drop: (target: OrgUnit) => {
      const unit = dragging;
      setDragging(null);
      setOver(null);
      if (!unit) return;
      setNotice(null);
      update.mutate(
        { id: unit.id, body: { parent_id: target.id } },
        { onSuccess: (u) => setNotice(t('org.saved', { name: u.name })) },
      );
    },
  };

  const done = (message: string) => {
    setDialog(null);
    setNotice(message);
  };

  return (
    <Page
      title={t('org.title')}
      subtitle={t('org.subtitle')}
      actions={
        units.data && units.data.length === 0 ? (
          <button type="button" className="btn btn--primary" onClick={() => setDialog({ kind: 'create', parent: null })}>
            <Icon name="plus" /> {t('org.new')}
          </button>
        ) : null
      }
    >
      <div aria-live="polite">{notice ? <p className="notice notice--ok">{notice}</p> : null}</div>
      {update.error && !dialog ? <ErrorMessage error={update.error} /> : null}
      {units.isPending ? (
        <Loading />
      ) : units.isError ? (
        <ErrorMessage error={units.error} onRetry={() => void units.refetch()} />
      ) : tree.length === 0 ? (
        <EmptyState />
      ) : (
        <Card>
          <p className="muted small hide-phone">{t('org.dragHint')}</p>
          <ul className="tree" aria-label={t('org.tree')}>
            {tree.map((n) => (
              <TreeNode
                key={n.unit.id}
                node={n}
                open={open}
                toggle={toggle}
                onAction={(d) => {
                  setNotice(null);
                  remove.reset();
                  update.reset();
                  setDialog(d);
                }}
                drag={drag}
              />
            ))}
          </ul>
        </Card>
      )}
      <Modal
        open={dialog !== null && dialog.kind !== 'delete'}
        title={
          dialog?.kind === 'create'
            ? dialog.parent
              ? `${t('org.newChild')}: ${dialog.parent.name}`
              : t('org.new')
            : dialog?.kind === 'rename'
              ? `${t('org.rename')}: ${dialog.unit.name}`
              : dialog?.kind === 'move'
                ? `${t('org.move')}: ${dialog.unit.name}`
                : ''
        }
        onClose={() => setDialog(null)}
      >
        {dialog && dialog.kind !== 'delete' ? (
          <UnitForm dialog={dialog} units={units.data ?? []} onDone={done} onCancel={() => setDialog(null)} />
        ) : null}
      </Modal>
      <ConfirmDialog
        open={dialog?.kind === 'delete'}
        title={dialog?.kind === 'delete' ? t('org.deleteTitle', { name: dialog.unit.name }) : ''}
        confirmLabel={tc('actions.delete')}
        danger
        busy={remove.isPending}
        onCancel={() => setDialog(null)}
        onConfirm={() => {
          if (dialog?.kind !== 'delete') return;
          const name = dialog.unit.name;
          remove.mutate(dialog.unit.id, { onSuccess: () => done(t('org.deleted', { name })) });
        }}
      >
        <p>{t('org.deleteBody')}</p>
        {remove.error ? <ErrorMessage error={remove.error} /> : null}
      </ConfirmDialog>
    </Page>
  );
}
