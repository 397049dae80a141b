/** Paths under /console/ with the History API; keygate serves index.html for each of them. */
import { useEffect, useState } from 'react';

export const BASE = '/console/';

export type Route = 'keys' | 'groups' | 'structure' | 'users' | 'audit' | 'runs' | 'webhooks';

export const ROUTES: { route: Route; label: string }[] = [
  { route: 'keys', label: 'API keys' },
  { route: 'groups', label: 'Authorization groups' },
  { route: 'structure', label: 'Organizations' },
  { route: 'users', label: 'Users' },
  { route: 'audit', label: 'Audit log' },
  { route: 'runs', label: 'Workflow runs' },
  { route: 'webhooks', label: 'Webhook endpoints' },
];

export function currentRoute(): Route {
  const name = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length).split('/')[0] : '';
  return ROUTES.find((r) => r.route === name)?.route ?? 'keys';
}

export function navigate(route: Route): void {
  history.pushState(null, '', `${BASE}${route}`);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return route;
}
