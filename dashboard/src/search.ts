/** The header's search: a flow by business key or trace id; one found opens it, several are listed under the box. */
import type { FlowsResponse } from '../../collector/src/api/types.ts';
import { getJson, query } from './api-client.ts';
import { el, viewHref } from './dom.ts';

export function searchForm(): HTMLElement {
  const input = el('input', { type: 'search' });
  input.name = 'flow-search';
  input.placeholder = 'business key (order-1234) or trace id';
  input.setAttribute('aria-label', 'find a flow by business key or trace id');
  const answer = el('div', { className: 'search-answer', dataset: { testid: 'search-answer' } });
  const form = el('form', { className: 'flow-search' }, input, el('button', { type: 'submit' }, 'Find'), answer);
  window.addEventListener('hashchange', () => answer.replaceChildren());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text === '') return;
    const byTrace = /^[0-9a-f]{32}$/i.test(text);
    getJson<FlowsResponse>(`/api/flows${query(byTrace ? { traceId: text.toLowerCase(), limit: 20 } : { businessKey: text, limit: 20 })}`).then(({ flows }) => {
      if (flows.length === 1) location.hash = viewHref('flows', flows[0]!.flowId);
      else if (flows.length === 0) answer.replaceChildren(el('p', {}, `No flow has ${byTrace ? 'this trace' : 'this business key'}.`));
      else answer.replaceChildren(el('ul', { className: 'flow-list' }, ...flows.map((flow) => el('li', {},
        el('a', { href: viewHref('flows', flow.flowId) }, flow.businessKeys[0] ?? flow.flowId), el('span', { className: `state ${flow.state}` }, flow.state)))));
    }, (error: Error) => answer.replaceChildren(el('p', {}, error.message)));
  });
  return form;
}
