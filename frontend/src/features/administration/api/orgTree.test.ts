import { describe, expect, it } from 'vitest';
import type { OrgUnit } from '../../org/api/orgUnits';
import { buildOrgTree, canMoveUnder, childKind, parentKind } from './orgTree';

const units: OrgUnit[] = [
  { id: 9, name: 'Célula Bom Fim', kind: 'cell', parent_id: 4, path: '/1/2/4/9/' },
  { id: 1, name: 'Comitê Central', kind: 'central', parent_id: null, path: '/1/' },
  { id: 4, name: 'Setor Centro', kind: 'sector', parent_id: 2, path: '/1/2/4/' },
  { id: 3, name: 'Comitê Regional Norte', kind: 'regional', parent_id: 1, path: '/1/3/' },
  { id: 2, name: 'Comitê Regional Sul', kind: 'regional', parent_id: 1, path: '/1/2/' },
  { id: 10, name: 'Célula Azenha', kind: 'cell', parent_id: 4, path: '/1/2/4/10/' },
];

describe('buildOrgTree', () => {
  it('nests the flat list under parents, siblings by name, counting descendants', () => {
    const tree = buildOrgTree(units);
    expect(tree).toHaveLength(1);
    const root = tree[0]!;
    expect(root.unit.id).toBe(1);
    expect(root.descendants).toBe(5);
    expect(root.children.map((c) => c.unit.name)).toEqual(['Comitê Regional Norte', 'Comitê Regional Sul']);
    const sul = root.children[1]!;
    expect(sul.descendants).toBe(3);
    expect(sul.children[0]!.children.map((c) => c.unit.name)).toEqual(['Célula Azenha', 'Célula Bom Fim']);
    expect(sul.children[0]!.children[0]!.descendants).toBe(0);
  });

  it('makes units whose parent is out of scope roots', () => {
    const scoped = units.filter((u) => u.path.startsWith('/1/2/4/'));
    const tree = buildOrgTree(scoped);
    expect(tree.map((n) => n.unit.name)).toEqual(['Setor Centro']);
    expect(tree[0]!.children).toHaveLength(2);
  });

  it('is empty for no units', () => {
    expect(buildOrgTree([])).toEqual([]);
  });
});

describe('moves', () => {
  const byId = (id: number) => units.find((u) => u.id === id)!;
  it('knows the levels', () => {
    expect(childKind('central')).toBe('regional');
    expect(childKind('cell')).toBeNull();
    expect(parentKind('central')).toBeNull();
    expect(parentKind('cell')).toBe('sector');
  });
  it('only offers a parent one level above that is not the current one', () => {
    expect(canMoveUnder(byId(4), byId(3))).toBe(true);
    expect(canMoveUnder(byId(4), byId(2))).toBe(false);
    expect(canMoveUnder(byId(4), byId(1))).toBe(false);
    expect(canMoveUnder(byId(9), byId(4))).toBe(false);
  });
});
