// The admin web app: sign-in, the session, and the screens, one per hash route (#/content/…).

import { api, ApiError, SESSION, setSession } from './api.js';
import { announce, clear, errorPanel, field, h, setFieldError } from './dom.js';
import { backupsView } from './backups.js';
import { chatListView, chatSessionView } from './chat.js';
import { contentListView } from './content-list.js';
import { editorView } from './editor.js';
import { historyView } from './history.js';
import { overviewView } from './overview.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOutButton = document.getElementById('sign-out');
let session = null;
let expiryTimer = 0;
let renderCount = 0;
let focusSearchAfterRender = false;

const ROUTES = [
  [/^\/overview$/, () => overviewView()],
  [/^\/content$/, (match, params) => contentListView(params, { trash: false })],
  [/^\/trash$/, (match, params) => contentListView(params, { trash: true })],
  [/^\/content\/new$/, (match, params) => editorView(null, params)],
  [/^\/content\/(content_[\w-]+)$/, (match) => editorView(match[1])],
  [/^\/content\/(content_[\w-]+)\/history$/, (match, params) => historyView(match[1], params)],
  [/^\/chat$/, (match, params) => chatListView(params)],
  [/^\/chat\/(sess_[\w-]+)$/, (match) => chatSessionView(match[1])],
  [/^\/backups$/, () => backupsView()],
];

function currentRoute() {
  const hash = window.location.hash.replace(/^#/, '') || '/overview';
  const [path, search = ''] = hash.split('?');
  return { path, params: new URLSearchParams(search) };
}

function markCurrentSection(path) {
  for (const link of nav.querySelectorAll('a')) {
    const target = link.getAttribute('href').replace(/^#/, '');
    const current = path === target || (target === '/content' && path.startsWith('/content/'))
      || (target === '/chat' && path.startsWith('/chat/'));
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function render() {
  if (!session) return;
  const { path, params } = currentRoute();
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  const ticket = ++renderCount;
  markCurrentSection(path);
  if (!found) {
    show(h('h1', {}, 'Not found'), h('p', {}, 'There is no such screen. ', h('a', { href: '#/overview' }, 'Overview')));
    return;
  }
  const [pattern, view] = found;
  try {
    const screen = await view(path.match(pattern), params);
    if (ticket === renderCount && session) {
      show(screen);
      const search = focusSearchAfterRender && document.getElementById('content-search');
      focusSearchAfterRender = false;
      if (search) search.focus();
    }
  } catch (error) {
    if (ticket !== renderCount || !session) return;
    if (error instanceof ApiError && error.status === 401) return; // the sign-in screen takes over
    show(h('h1', {}, 'Something went wrong'), errorPanel(error));
  }
}

function show(...children) {
  clear(main, ...children);
  const heading = main.querySelector('h1');
  document.title = heading ? `${heading.textContent} · Folionaut admin` : 'Folionaut admin';
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function signedIn(newSession) {
  session = newSession;
  setSession(newSession);
  nav.hidden = false;
  signOutButton.hidden = false;
  window.clearTimeout(expiryTimer);
  // The server decides; this only spares a failed request when the tab sat open past expiry.
  const left = Math.min(Date.parse(newSession.expiresAt) - Date.now(), 2 ** 31 - 1);
  if (left > 0) expiryTimer = window.setTimeout(() => signedOut('expired'), left);
}

function signedOut(reason) {
  session = null;
  setSession(null);
  window.clearTimeout(expiryTimer);
  nav.hidden = true;
  signOutButton.hidden = true;
  renderSignIn(reason);
}

function renderSignIn(reason) {
  const key = h('input', { type: 'password', name: 'key', autocomplete: 'current-password', required: true,
    spellcheck: 'false' });
  const keyField = field('Admin key or write token', key, {
    hint: 'ADMIN_API_KEY (or the admin_key file in the data directory), or an API token with the write scope.',
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const notices = {
    expired: 'Your session has ended. Sign in again to carry on where you were.',
    'signed-out': 'You are signed out.',
  };
  // A username field (hidden) tells password managers which credential this is.
  const form = h('form', { class: 'panel sign-in', novalidate: true },
    h('h1', {}, 'Sign in'),
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: 'admin', hidden: true,
      'aria-hidden': 'true', tabindex: '-1' }),
    reason && notices[reason] ? h('p', { class: 'notice', role: 'status' }, notices[reason]) : null,
    keyField, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setFieldError(keyField, []);
    if (!key.value) {
      setFieldError(keyField, ['Enter the admin key or a write token.']);
      key.focus();
      return;
    }
    submit.disabled = true;
    try {
      const answer = await api.post(SESSION, { key: key.value });
      signedIn(answer.data);
      await render();
    } catch (error) {
      let problems = [error.message];
      if (error.status === 429) problems = [`Too many attempts. Try again in ${error.retryAfter || 'a few'} seconds.`];
      else if (error.fields && error.fields.key) problems = error.fields.key;
      setFieldError(keyField, problems);
      key.focus();
      key.select();
    } finally {
      submit.disabled = false;
    }
  });
  show(form);
  document.title = 'Sign in · Folionaut admin';
  key.focus();
}

signOutButton.addEventListener('click', async () => {
  signOutButton.disabled = true;
  try {
    await api.delete(SESSION);
  } catch (error) {
    announce(`Signing out failed: ${error.message}`, 'error');
    return;
  } finally {
    signOutButton.disabled = false;
  }
  signedOut('signed-out');
});

window.addEventListener('folionaut:session-ended', (event) => {
  if (session) signedOut(event.detail.reason);
});
window.addEventListener('hashchange', () => render());
// Ctrl+K / ⌘K: jump to the content search from anywhere.
window.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k' && session) {
    event.preventDefault();
    const search = document.getElementById('content-search');
    if (search) {
      search.focus();
      search.select();
    } else {
      focusSearchAfterRender = true;
      window.location.hash = '#/content';
    }
  }
});

async function boot() {
  try {
    const answer = await api.get(SESSION);
    if (answer.data) {
      signedIn(answer.data);
      await render();
    } else {
      signedOut(null);
    }
  } catch (error) {
    show(h('h1', {}, 'Folionaut admin'), errorPanel(error));
  }
}

boot();
