import { useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { signOut, useCurrentUser } from '../auth';
import { ErrorBoundary } from '../components/ErrorBoundary';
import { Icon } from '../components/Icon';
import { LanguageSwitcher } from './LanguageSwitcher';
import { MENU, type MenuEntry } from './menu';

function MenuLink({ entry, onNavigate }: { entry: MenuEntry; onNavigate: () => void }) {
  const { t } = useTranslation();
  if (entry.external) {
    return (
      <a className="nav__link" href={entry.path} target="_blank" rel="noreferrer">
        <Icon name={entry.icon} />
        <span>{t(entry.labelKey)}</span>
      </a>
    );
  }
  return (
    <NavLink
      to={entry.path}
      end={entry.path === '/'}
      className={({ isActive }) => (isActive ? 'nav__link nav__link--active' : 'nav__link')}
      onClick={onNavigate}
    >
      <Icon name={entry.icon} />
      <span>{t(entry.labelKey)}</span>
    </NavLink>
  );
}

/** The signed-in shell: sidebar menu (a drawer at phone width), top bar, the page. */
export function Layout() {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const [open, setOpen] = useState(false);

  useEffect(() => {
    // Move focus to the new page's heading for screen readers and keyboards.
    document.getElementById('page-title')?.focus({ preventScroll: true });
  }, [location.pathname]);

  const main = MENU.filter((e) => !e.adminOnly);
  const admin = user.is_admin ? MENU.filter((e) => e.adminOnly) : [];
  const close = () => setOpen(false);

  async function logout(everywhere: boolean) {
    await signOut(queryClient, everywhere);
    navigate('/login', { replace: true });
  }

  return (
    <div className={open ? 'shell shell--menu-open' : 'shell'}>
      <a className="skip-link" href="#main">
        {t('menu.main')}
      </a>
      <header className="topbar">
        <button
          type="button"
          className="btn btn--ghost btn--icon topbar__menu"
          aria-expanded={open}
          aria-controls="sidebar"
          onClick={() => setOpen((o) => !o)}
          aria-label={open ? t('menu.close') : t('menu.open')}
        >
          <Icon name={open ? 'close' : 'menu'} />
        </button>
        <span className="brand brand--topbar">
          <span className="brand__mark" aria-hidden="true">T</span>
          {t('appName')}
        </span>
        <div className="topbar__right">
          <LanguageSwitcher />
        </div>
      </header>
      <aside id="sidebar" className="sidebar">
        <div className="brand">
          <span className="brand__mark" aria-hidden="true">T</span>
          <span>{t('appName')}</span>
        </div>
        <nav aria-label={t('menu.main')} className="nav">
          <ul>
            {main.map((e) => (
              <li key={e.path}>
                <MenuLink entry={e} onNavigate={close} />
              </li>
            ))}
          </ul>
          {admin.length > 0 ? (
            <>
              <p className="nav__section" id="nav-admin">
                {t('menu.admin')}
              </p>
              <ul aria-labelledby="nav-admin">
                {admin.map((e) => (
                  <li key={e.path}>
                    <MenuLink entry={e} onNavigate={close} />
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </nav>
        <div className="sidebar__footer">
          <div className="user-chip">
            <span className="avatar avatar--small" aria-hidden="true">
              {user.name.slice(0, 1).toUpperCase()}
            </span>
            <div className="user-chip__text">
              <span className="user-chip__name" data-testid="current-user">
                {user.name}
              </span>
              <span className="muted small">
                {user.is_admin ? t('account.admin') : user.is_treasurer ? t('account.treasurer') : user.email}
              </span>
            </div>
          </div>
          <div className="sidebar__lang">
            <LanguageSwitcher />
          </div>
          <button type="button" className="nav__link nav__button" onClick={() => void logout(false)}>
            <Icon name="logout" />
            <span>{t('account.logout')}</span>
          </button>
          <button type="button" className="nav__link nav__button" onClick={() => void logout(true)}>
            <Icon name="logout" />
            <span>{t('account.logoutEverywhere')}</span>
          </button>
        </div>
      </aside>
      {open ? <div className="scrim" onClick={close} aria-hidden="true" /> : null}
      <main id="main" className="main">
        <ErrorBoundary resetKey={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </main>
    </div>
  );
}
