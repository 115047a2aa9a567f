import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useMe, useSession } from '../auth';
import { ErrorMessage } from '../components/ErrorMessage';
import { Loading } from '../components/Loading';

/** Signed-out visitors go to /login?next=<where they wanted to go>. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const session = useSession();
  const me = useMe();
  const location = useLocation();
  if (!session) {
    const next = `${location.pathname}${location.search}${location.hash}`;
    return <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  if (me.isPending) {
    return (
      <div className="center-screen">
        <Loading />
      </div>
    );
  }
  if (me.isError) {
    return (
      <div className="center-screen">
        <ErrorMessage error={me.error} onRetry={() => void me.refetch()} />
      </div>
    );
  }
  return <>{children}</>;
}
