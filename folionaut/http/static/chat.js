// Chat sessions: the list (by status, newest activity first), a transcript, and ending a session.

import { api } from './api.js';
import { announce, badge, clear, confirmDialog, field, h, time } from './dom.js';

const SESSIONS = '/api/v1/admin/chat/sessions';
const PAGE = 50;

export async function chatListView(params) {
  const status = ['active', 'ended', 'expired'].includes(params.get('status')) ? params.get('status') : '';
  const page = Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1);
  let sessions;
  try {
    sessions = (await api.get(SESSIONS, { status, limit: PAGE + 1, offset: (page - 1) * PAGE })).data;
  } catch (error) {
    if (error.status === 404) {
      return h('div', {}, h('h1', {}, 'Chat'), h('p', { class: 'panel notice' },
        'Chat is switched off on this server (FEATURE_AI_CHAT=false).'));
    }
    throw error;
  }
  const hasMore = sessions.length > PAGE;
  sessions = sessions.slice(0, PAGE);
  const statusSelect = h('select', { name: 'status' },
    [['', 'Any status'], ['active', 'active'], ['ended', 'ended'], ['expired', 'expired']]
      .map(([value, label]) => h('option', { value, selected: value === status }, label)));
  statusSelect.addEventListener('change', () => {
    window.location.hash = statusSelect.value ? `#/chat?status=${statusSelect.value}` : '#/chat';
  });
  const link = (number) => `#/chat?${new URLSearchParams({ ...(status ? { status } : {}), page: String(number) })}`;
  return h('div', {},
    h('h1', {}, 'Chat sessions'),
    h('form', { class: 'filters', 'aria-label': 'Filter chat sessions' }, field('Status', statusSelect)),
    sessions.length === 0 ? h('p', {}, 'No chat sessions.')
      : h('div', { class: 'table-scroll' }, h('table', { class: 'items stack' },
        h('caption', { class: 'visually-hidden' }, 'Chat sessions, most recently active first'),
        h('thead', {}, h('tr', {}, ['Session', 'Status', 'Messages', 'Last active', 'Started']
          .map((label) => h('th', { scope: 'col' }, label)))),
        h('tbody', {}, sessions.map((session) => h('tr', {},
          h('th', { scope: 'row', 'data-label': 'Session' },
            h('a', { href: `#/chat/${session.id}` }, `Visitor ${session.visitorId}`)),
          h('td', { 'data-label': 'Status' }, badge(session.status)),
          h('td', { 'data-label': 'Messages' }, String(session.messageCount)),
          h('td', { 'data-label': 'Last active' }, time(session.lastActiveAt)),
          h('td', { 'data-label': 'Started' }, time(session.createdAt))))))),
    h('nav', { class: 'pager', 'aria-label': 'Pages' },
      page > 1 ? h('a', { class: 'btn', href: link(page - 1) }, '← Newer') : null,
      hasMore ? h('a', { class: 'btn', href: link(page + 1) }, 'Older →') : null));
}

export async function chatSessionView(id) {
  let { data: session } = await api.get(`${SESSIONS}/${id}`);
  const facts = h('p', { class: 'facts-line' });
  const end = h('button', { type: 'button', class: 'btn btn-danger' }, 'End session');

  function renderFacts() {
    clear(facts, badge(session.status), ` ${session.messageCount} messages · started `, time(session.createdAt),
      ' · last active ', time(session.lastActiveAt),
      session.userAgent ? h('span', { class: 'muted' }, ` · ${session.userAgent}`) : null);
    end.hidden = session.status !== 'active';
  }

  end.addEventListener('click', async () => {
    const sure = await confirmDialog({
      title: 'End this chat session?',
      body: 'The visitor’s next message starts a new session. The transcript stays here.',
      confirm: 'End session', danger: true,
    });
    if (!sure) {
      end.focus();
      return;
    }
    try {
      await api.delete(`${SESSIONS}/${id}`);
      session = (await api.get(`${SESSIONS}/${id}`)).data;
      renderFacts();
      announce('Session ended.');
      facts.focus();
    } catch (error) {
      announce(`Ending the session failed: ${error.message}`, 'error');
    }
  });
  facts.tabIndex = -1;
  renderFacts();
  return h('div', {},
    h('p', { class: 'crumbs' }, h('a', { href: '#/chat' }, 'Chat sessions'), ' / ', id),
    h('div', { class: 'page-head' }, h('h1', {}, `Chat with visitor ${session.visitorId}`), end),
    facts,
    session.messages.length === 0 ? h('p', {}, 'No messages.')
      : h('ol', { class: 'transcript' }, session.messages.map((message) => h('li', { class: `message ${message.role}` },
        h('p', { class: 'who' }, message.role === 'user' ? 'Visitor' : 'Assistant', ' · ', time(message.createdAt),
          message.model ? h('span', { class: 'muted' }, ` · ${message.model}`) : null),
        h('p', { class: 'text' }, message.content)))));
}
