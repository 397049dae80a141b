import { useCallback, useEffect, useMemo, useState } from 'react';
import { Provider, useMutation, useQuery } from 'urql';
import { createConsoleClient } from './client';
import { graphql } from './gql';
import { ApiKeysPage } from './pages/ApiKeys';
import { AuditPage } from './pages/Audit';
import { GroupsPage } from './pages/Groups';
import { RunsPage } from './pages/Runs';
import { SignIn } from './pages/SignIn';
import { StructurePage } from './pages/Structure';
import { UsersPage } from './pages/Users';
import { WebhooksPage } from './pages/Webhooks';
import { BASE, navigate, ROUTES, useRoute, type Route } from './router';
import { ScopeContext, type Scope } from './scope';
import { clearSession, loadSelectedTenant, loadSession, saveSelectedTenant, saveSession, type Session } from './session';

/** Which permission makes each page worth showing (the API decides the rest). */
const PAGE_PERMISSION: Record<Route, string[]> = {
  keys: ['api_keys:read'],
  groups: ['authorization_groups:manage', 'api_keys:read'],
  structure: ['workspaces:read'],
  users: ['users:manage'],
  audit: ['audit:read'],
  runs: ['projects:read', 'workflows:trigger'],
  webhooks: ['webhooks:manage'],
};

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);

  const endSession = useCallback((message: string | null) => {
    clearSession();
    setSession(null);
    setNotice(message);
  }, []);

  // Signed out when the server's session ends (KEYGATE_SESSION_TTL_MINUTES), even when idle.
  useEffect(() => {
    if (!session) return;
    const remaining = Date.parse(session.expiresAt) - Date.now();
    const timer = setTimeout(() => endSession('Your session has expired. Sign in again.'), Math.max(0, Math.min(remaining, 2 ** 31 - 1)));
    return () => clearTimeout(timer);
  }, [session, endSession]);

  // One client per session: signing out drops every cached answer with it.
  const client = useMemo(() => createConsoleClient(session, () => endSession('Your session has ended. Sign in again.')), [session, endSession]);

  return (
    <Provider value={client}>
      {session ? (
        <Console onSignedOut={() => endSession('You are signed out.')} />
      ) : (
        <SignIn
          notice={notice}
          onSignedIn={(s) => {
            saveSession(s);
            setNotice(null);
            setSession(s);
          }}
        />
      )}
    </Provider>
  );
}

const ViewerQuery = graphql(`
  query ConsoleViewer {
    viewer {
      kind
      crossTenant
      permissions
      tenant {
        id
        name
        slug
        isSystem
      }
      user {
        id
        email
        role
      }
    }
  }
`);

const TenantsQuery = graphql(`
  query ConsoleTenants {
    tenants {
      id
      name
      slug
      isSystem
    }
  }
`);

const SignOutMutation = graphql(`
  mutation ConsoleSignOut {
    signOut
  }
`);

function Console({ onSignedOut }: { onSignedOut: () => void }) {
  const [{ data, error }] = useQuery({ query: ViewerQuery });
  const viewer = data?.viewer;
  const [{ data: tenantsData }] = useQuery({ query: TenantsQuery, pause: !viewer?.crossTenant });
  const [selected, setSelected] = useState<string | null>(loadSelectedTenant);
  const [, signOut] = useMutation(SignOutMutation);
  const route = useRoute();

  const scope = useMemo<Scope | null>(() => {
    if (!viewer) return null;
    const permissions = new Set(viewer.permissions);
    const tenants = tenantsData?.tenants ?? [];
    const picked = viewer.crossTenant ? (tenants.find((t) => t.id === selected) ?? viewer.tenant ?? null) : (viewer.tenant ?? null);
    return {
      tenantId: viewer.crossTenant ? picked?.id : undefined,
      tenant: picked,
      crossTenant: viewer.crossTenant,
      role: viewer.user?.role ?? null,
      userId: viewer.user?.id ?? null,
      can: (permission) => permissions.has(permission),
      canGrant: (granted) => granted.every((permission) => permissions.has(permission)),
      isAdmin: viewer.user?.role === 'TENANT_ADMIN' || viewer.user?.role === 'PLATFORM_ADMIN',
    };
  }, [viewer, tenantsData, selected]);

  useEffect(() => {
    const page = ROUTES.find((r) => r.route === route);
    document.title = `${page?.label ?? 'Console'} · keygate console`;
  }, [route]);

  if (error && !viewer) return <p role="alert">{error.message}</p>;
  if (!viewer || !scope) return <p role="status">Loading…</p>;

  const visible = ROUTES.filter((r) => PAGE_PERMISSION[r.route].some((p) => scope.can(p)));
  // A page opened by its address is shown only if the navigation offers it.
  const offered = visible.some((r) => r.route === route);

  return (
    <ScopeContext.Provider value={scope}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">keygate console</span>
        {viewer.crossTenant ? (
          <div className="tenant-selector">
            <label htmlFor="tenant-selector">Tenant</label>
            <select
              id="tenant-selector"
              value={scope.tenant?.id ?? ''}
              onChange={(e) => {
                saveSelectedTenant(e.target.value);
                setSelected(e.target.value);
              }}
            >
              {(tenantsData?.tenants ?? []).map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name} ({t.slug})
                </option>
              ))}
            </select>
          </div>
        ) : (
          <span className="tenant-name">{scope.tenant?.name}</span>
        )}
        <span className="who">{viewer.user?.email}</span>
        <button
          type="button"
          onClick={async () => {
            await signOut({});
            onSignedOut();
          }}
        >
          Sign out
        </button>
      </header>
      <div className="layout">
        <nav aria-label="Console">
          <ul>
            {visible.map((r) => (
              <li key={r.route}>
                <a
                  href={`${BASE}${r.route}`}
                  aria-current={r.route === route ? 'page' : undefined}
                  onClick={(e) => {
                    if (e.metaKey || e.ctrlKey || e.shiftKey) return;
                    e.preventDefault();
                    navigate(r.route);
                  }}
                >
                  {r.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          {/* Keyed by tenant: switching tenants starts each page afresh (filters, dialogs). */}
          {offered ? <Page key={`${route}:${scope.tenant?.id ?? ''}`} route={route} /> : <NotOffered first={visible[0]} />}
        </main>
      </div>
    </ScopeContext.Provider>
  );
}

function NotOffered({ first }: { first: (typeof ROUTES)[number] | undefined }) {
  return (
    <section aria-labelledby="not-offered-title">
      <h1 id="not-offered-title">Not available</h1>
      <p role="status">Your permissions do not include this page.</p>
      {first ? (
        <p>
          <a
            href={`${BASE}${first.route}`}
            onClick={(e) => {
              e.preventDefault();
              navigate(first.route);
            }}
          >
            Go to {first.label}
          </a>
        </p>
      ) : null}
    </section>
  );
}

function Page({ route }: { route: Route }) {
  switch (route) {
    case 'keys':
      return <ApiKeysPage />;
    case 'groups':
      return <GroupsPage />;
    case 'structure':
      return <StructurePage />;
    case 'users':
      return <UsersPage />;
    case 'audit':
      return <AuditPage />;
    case 'runs':
      return <RunsPage />;
    case 'webhooks':
      return <WebhooksPage />;
  }
}
