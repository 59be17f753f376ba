import { context, createContextKey, propagation, type Context } from '@opentelemetry/api';
import { BAGGAGE_BUSINESS_KEY } from './semconv.ts';

/** The business flow a piece of work belongs to, e.g. the order id. */
export type BusinessKey = string;

const BUSINESS_KEY = createContextKey('choreoscope.business_key');

/** Runs `work` with `key` as the business key of everything it publishes (set once, at the flow's start). */
export function withBusinessKey<T>(key: BusinessKey, work: () => T): T {
  return context.with(setBusinessKey(context.active(), key), work);
}

export function setBusinessKey(ctx: Context, key: BusinessKey): Context {
  return ctx.setValue(BUSINESS_KEY, key);
}

/** The business key in `ctx`: set by `withBusinessKey`, by a consumed message, or as a baggage entry. */
export function getBusinessKey(ctx: Context = context.active()): BusinessKey | undefined {
  const own = ctx.getValue(BUSINESS_KEY);
  if (typeof own === 'string') return own;
  return propagation.getBaggage(ctx)?.getEntry(BAGGAGE_BUSINESS_KEY)?.value;
}
