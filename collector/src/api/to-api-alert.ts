/**
 * A stored alert as the API answers it: the episode's history and people's notes on it in one list,
 * newest first. The compiler holds the stored shape to the API's (types.ts), as for flows.
 */
import type { StoredAlert } from '../store/alert-store.ts';
import type { ApiAlert } from './types.ts';

export function toApiAlert(stored: StoredAlert): ApiAlert {
  const { notes, history, ...alert } = stored;
  if (alert.state === 'pending') throw new Error(`alert ${alert.id} is pending: pending alerts are never stored`);
  return { ...alert, state: alert.state, history: [...history, ...notes].sort((a, b) => b.atMs - a.atMs) };
}
