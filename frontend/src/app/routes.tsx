/**
 * The route table: one entry per page. A feature exports its page components from
 * `src/features/<feature>/routes/`; add the route here and the menu entry in `menu.ts`.
 */
import type { RouteObject } from 'react-router';
import { Layout } from './Layout';
import { NotFound } from './NotFound';
import { RequireAuth } from './RequireAuth';
import { LoginPage } from '../features/auth/routes/LoginPage';
import { ProfilePage } from '../features/auth/routes/ProfilePage';
import { DashboardPage } from '../features/dashboard/routes/DashboardPage';
import { MembersPage } from '../features/members/routes/MembersPage';
import { DuesPage } from '../features/dues/routes/DuesPage';
import { PaymentsPage } from '../features/payments/routes/PaymentsPage';
import { MaterialsPage } from '../features/materials/routes/MaterialsPage';
import { PostsPage } from '../features/posts/routes/PostsPage';
import { FilesPage } from '../features/files/routes/FilesPage';
import { UsersPage } from '../features/administration/routes/UsersPage';
import { OrgTreePage } from '../features/administration/routes/OrgTreePage';
import { TokensPage } from '../features/administration/routes/TokensPage';
import { AuditPage } from '../features/administration/routes/AuditPage';
import { CachePage } from '../features/administration/routes/CachePage';

export const routes: RouteObject[] = [
  { path: '/login', element: <LoginPage /> },
  {
    path: '/',
    element: (
      <RequireAuth>
        <Layout />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <DashboardPage /> },
      { path: 'members', element: <MembersPage /> },
      { path: 'dues', element: <DuesPage /> },
      { path: 'payments', element: <PaymentsPage /> },
      { path: 'materials', element: <MaterialsPage /> },
      { path: 'profile', element: <ProfilePage /> },
      { path: 'posts', element: <PostsPage /> },
      { path: 'files', element: <FilesPage /> },
      { path: 'admin/users', element: <UsersPage /> },
      { path: 'admin/org-units', element: <OrgTreePage /> },
      { path: 'admin/tokens', element: <TokensPage /> },
      { path: 'admin/audit', element: <AuditPage /> },
      { path: 'admin/cache', element: <CachePage /> },
      { path: '*', element: <NotFound /> },
    ],
  },
];
