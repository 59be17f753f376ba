/** The dashboard's address is its hash (`#/map`, `#/flows/<id>`): a deep link survives a reload, and the collector serves one page. */
export type Route =
  | { view: 'map' }
  | { view: 'catalog' }
  | { view: 'flow'; flowId: string }
  | { view: 'alerts'; alertId: string | null }
  | { view: 'unknown'; hash: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter((part) => part !== '');
  const decoded = (part: string | undefined) => {
    try {
      return decodeURIComponent(part ?? '');
    } catch {
      return '';
    }
  };
  if (parts.length === 0 || (parts[0] === 'map' && parts.length === 1)) return { view: 'map' };
  if (parts[0] === 'catalog' && parts.length === 1) return { view: 'catalog' };
  if (parts[0] === 'flows' && parts.length === 2 && decoded(parts[1]) !== '') return { view: 'flow', flowId: decoded(parts[1]) };
  if (parts[0] === 'alerts' && parts.length === 1) return { view: 'alerts', alertId: null };
  if (parts[0] === 'alerts' && parts.length === 2 && decoded(parts[1]) !== '') return { view: 'alerts', alertId: decoded(parts[1]) };
  return { view: 'unknown', hash };
}
