import type { OrgUnit } from '../../org/api/orgUnits';

export interface OrgNode {
  unit: OrgUnit;
  children: OrgNode[];
  /** Every unit below, at any depth. */
  descendants: number;
}

const LEVELS: OrgUnit['kind'][] = ['central', 'regional', 'sector', 'cell'];

/**
 * The org tree from the API's flat list: children under their parent, siblings by name. A unit
 * whose parent is not in the list (outside the caller's scope) is a root.
 */
export function buildOrgTree(units: OrgUnit[], locale = 'pt-BR'): OrgNode[] {
  const nodes = new Map<number, OrgNode>(units.map((u) => [u.id, { unit: u, children: [], descendants: 0 }]));
  const roots: OrgNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.unit.parent_id != null ? nodes.get(node.unit.parent_id) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const byName = (a: OrgNode, b: OrgNode) => a.unit.name.localeCompare(b.unit.name, locale);
  const finish = (list: OrgNode[]): void => {
    list.sort(byName);
    for (const n of list) {
      finish(n.children);
      n.descendants = n.children.reduce((sum, c) => sum + 1 + c.descendants, 0);
    }
  };
  finish(roots);
  return roots;
}

/** The level a unit's children have (null below a cell). */
export function childKind(kind: OrgUnit['kind']): OrgUnit['kind'] | null {
  const i = LEVELS.indexOf(kind);
  return (i >= 0 ? LEVELS[i + 1] : undefined) ?? null;
}

/** The level a unit's parent has (null for the central committee). */
export function parentKind(kind: OrgUnit['kind']): OrgUnit['kind'] | null {
  const i = LEVELS.indexOf(kind);
  return (i > 0 ? LEVELS[i - 1] : undefined) ?? null;
}

/** Whether `unit` may move under `target`: one level above, and not into its own subtree. */
export function canMoveUnder(unit: OrgUnit, target: OrgUnit): boolean {
  if (parentKind(unit.kind) !== target.kind) return false;
  if (target.id === unit.parent_id) return false;
  return !target.path.split('/').includes(String(unit.id));
}
