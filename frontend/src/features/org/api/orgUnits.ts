import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../../api/client';
import type { components } from '../../../api/schema';

export type OrgUnit = components['schemas']['OrgUnitDto'];

export const orgUnitKeys = { all: ['org-units'] as const };

/** The org units in the caller's scope, ordered as a tree (by path). */
export function useOrgUnits() {
  return useQuery({
    queryKey: orgUnitKeys.all,
    queryFn: async () => {
      const units = await unwrap(api.GET('/api/org-units'));
      return sortAsTree(units);
    },
    staleTime: 5 * 60_000,
  });
}

/** Parents before children, siblings by name. */
export function sortAsTree(units: OrgUnit[]): OrgUnit[] {
  const byId = new Map(units.map((u) => [u.id, u]));
  const key = (u: OrgUnit) =>
    u.path
      .split('/')
      .filter(Boolean)
      .map((id) => byId.get(Number(id))?.name ?? id)
      .join('\u0000');
  return [...units].sort((a, b) => key(a).localeCompare(key(b), 'pt-BR'));
}

export function depthOf(unit: OrgUnit): number {
  return unit.path.split('/').filter(Boolean).length - 1;
}

export function unitName(units: OrgUnit[] | undefined, id: number | null | undefined): string {
  if (id == null) return '—';
  return units?.find((u) => u.id === id)?.name ?? `#${id}`;
}
