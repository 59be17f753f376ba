/**
 * Building the page's own elements. Every string that may come from spans (service names, event types,
 * attribute values, alert titles) goes in as text: nothing here, or anywhere in the dashboard, parses
 * HTML. Links are built from fixed prefixes and encoded ids only.
 */
type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, props: { className?: string; title?: string; href?: string; type?: string; dataset?: Record<string, string> } = {}, ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className !== undefined) element.className = props.className;
  if (props.title !== undefined) element.title = props.title;
  if (props.href !== undefined) (element as HTMLAnchorElement).href = props.href;
  if (props.type !== undefined) element.setAttribute('type', props.type);
  for (const [key, value] of Object.entries(props.dataset ?? {})) element.dataset[key] = value;
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** A link within the dashboard: `#/<view>/<id>`, the id encoded, whatever it holds. */
export function viewHref(view: 'flows' | 'alerts', id: string): string {
  return `#/${view}/${encodeURIComponent(id)}`;
}
