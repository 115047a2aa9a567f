/**
 * The menu: one entry per page, in order. `labelKey` is in the `common` namespace (menu.*).
 * Admin-only entries are shown in the "Administration" section, to administrators only.
 * `external` entries are plain links (not client routes).
 */
import type { IconName } from '../components/Icon';

export interface MenuEntry {
  path: string;
  labelKey: string;
  icon: IconName;
  adminOnly?: boolean;
  external?: boolean;
}

export const MENU: MenuEntry[] = [
  { path: '/', labelKey: 'menu.dashboard', icon: 'dashboard' },
  { path: '/members', labelKey: 'menu.members', icon: 'members' },
  { path: '/dues', labelKey: 'menu.dues', icon: 'dues' },
  { path: '/payments', labelKey: 'menu.payments', icon: 'payments' },
  { path: '/materials', labelKey: 'menu.materials', icon: 'materials' },
  { path: '/posts', labelKey: 'menu.posts', icon: 'posts' },
  { path: '/files', labelKey: 'menu.files', icon: 'files' },
  { path: '/profile', labelKey: 'menu.profile', icon: 'profile' },
  { path: '/api/docs/', labelKey: 'menu.apiDocs', icon: 'docs', external: true },
  { path: '/admin/users', labelKey: 'menu.users', icon: 'users', adminOnly: true },
  { path: '/admin/org-units', labelKey: 'menu.orgTree', icon: 'tree', adminOnly: true },
  { path: '/admin/tokens', labelKey: 'menu.tokens', icon: 'key', adminOnly: true },
  { path: '/admin/audit', labelKey: 'menu.auditLog', icon: 'audit', adminOnly: true },
  { path: '/admin/cache', labelKey: 'menu.cache', icon: 'cache', adminOnly: true },
];
