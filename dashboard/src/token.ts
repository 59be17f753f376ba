/**
 * The API token: asked for when the collector answers 401, kept in this tab's session storage (gone when
 * the tab closes; never a cookie, so no other site's request carries it), sent as a bearer header.
 */
import { el } from './dom.ts';

const KEY = 'choreoscope.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

let asking: Promise<string> | null = null;

/** Shows the token prompt (once, however many requests were refused) and resolves with what was entered. */
export function askForToken(refused: boolean): Promise<string> {
  asking ??= new Promise<string>((resolve) => {
    const input = el('input', { type: 'password' });
    input.name = 'token';
    input.autocomplete = 'off';
    input.required = true;
    input.setAttribute('aria-label', 'API token');
    const form = el('form', { className: 'token-form' },
      el('h2', {}, 'This collector asks for a token'),
      el('p', {}, refused
        ? 'The token given was refused. Enter one of the collector\'s API tokens (--api-token).'
        : 'Enter one of the collector\'s API tokens (--api-token). It is kept in this tab only.'),
      input,
      el('button', { type: 'submit' }, 'Open'));
    const overlay = el('div', { className: 'overlay', dataset: { testid: 'token-prompt' } }, form);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (token === '') return;
      sessionStorage.setItem(KEY, token);
      overlay.remove();
      asking = null;
      resolve(token);
    });
    document.body.append(overlay);
    input.focus();
  });
  return asking;
}
