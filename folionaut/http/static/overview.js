// Overview: is everything up (database, Redis, the LLM breaker), how much content, what changed lately.

import { api } from './api.js';
import { badge, formatNumber, h, time } from './dom.js';

const STATUSES = ['draft', 'published', 'archived'];
const BREAKER_TEXT = {
  closed: 'closed: the LLM answers',
  half_open: 'half open: trying the LLM again',
  open: 'open: chat answers 502 until the LLM recovers',
};

function healthCard(overview) {
  const checks = Object.entries(overview.checks);
  const llm = overview.llm;
  let llmText = 'chat is switched off (FEATURE_AI_CHAT)';
  if (llm.chatEnabled) {
    llmText = llm.provider === 'offline'
      ? 'no LLM_API_KEY: chat answers from the built-in offline responder'
      : `${llm.provider} ${llm.model}, breaker ${BREAKER_TEXT[llm.breaker] || llm.breaker}`;
  }
  return h('section', { class: 'card', 'aria-labelledby': 'health-heading' },
    h('h2', { id: 'health-heading' }, 'Health ', h('span', { class: `pill pill-${overview.status}` }, overview.status)),
    h('dl', { class: 'facts' },
      checks.map(([name, state]) => [
        h('dt', {}, name === 'database' ? 'Database' : name === 'redis' ? 'Redis' : name),
        h('dd', {}, h('span', { class: `pill pill-${state}` }, state)),
      ]),
      checks.some(([name]) => name === 'redis') ? null
        : [h('dt', {}, 'Redis'), h('dd', {}, 'not configured (in-process cache and limits)')],
      h('dt', {}, 'LLM'),
      h('dd', { 'data-breaker': llm.breaker || 'none' },
        llm.chatEnabled && llm.breaker ? h('span', { class: `pill pill-breaker-${llm.breaker}` }, llm.breaker) : null,
        ' ', llmText),
      h('dt', {}, 'Version'), h('dd', {}, `${overview.version} (${overview.environment})`)));
}

function countsCard(overview) {
  const byType = new Map();
  for (const row of overview.counts) {
    const counts = byType.get(row.type) || { draft: 0, published: 0, archived: 0, trash: 0 };
    if (row.deleted) counts.trash += row.count;
    else counts[row.status] += row.count;
    byType.set(row.type, counts);
  }
  const totals = { draft: 0, published: 0, archived: 0, trash: 0 };
  for (const counts of byType.values()) for (const key of Object.keys(totals)) totals[key] += counts[key];
  const link = (type, status, count) => (count
    ? h('a', { href: status === 'trash' ? `#/trash?type=${type}` : `#/content?type=${type}&status=${status}` },
      formatNumber(count))
    : '0');
  return h('section', { class: 'card wide', 'aria-labelledby': 'counts-heading' },
    h('h2', { id: 'counts-heading' }, 'Content'),
    byType.size === 0
      ? h('p', {}, 'No content yet. ', h('a', { href: '#/content/new' }, 'Create the first item'), '.')
      : h('div', { class: 'table-scroll' }, h('table', { class: 'counts' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Type'),
          STATUSES.map((status) => h('th', { scope: 'col' }, status)), h('th', { scope: 'col' }, 'trash'))),
        h('tbody', {}, [...byType.entries()].map(([type, counts]) => h('tr', {},
          h('th', { scope: 'row' }, h('a', { href: `#/content?type=${type}` }, type)),
          STATUSES.map((status) => h('td', {}, link(type, status, counts[status]))),
          h('td', {}, link(type, 'trash', counts.trash))))),
        h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'All'),
          STATUSES.map((status) => h('td', {}, formatNumber(totals[status]))),
          h('td', {}, formatNumber(totals.trash)))))));
}

function changesCard(overview) {
  return h('section', { class: 'card wide', 'aria-labelledby': 'changes-heading' },
    h('h2', { id: 'changes-heading' }, 'Recent changes'),
    overview.recentChanges.length === 0 ? h('p', {}, 'Nothing has changed yet.')
      : h('ol', { class: 'changes' }, overview.recentChanges.map((change) => h('li', {},
        badge(change.changeType), ' ',
        h('a', { href: `#/content/${change.contentId}/history` },
          typeof change.data.title === 'string' && change.data.title ? change.data.title : `${change.type}/${change.slug}`),
        h('span', { class: 'muted' }, ` v${change.version} · ${change.changeSummary || ''} · by ${change.changedBy || '?'} · `),
        time(change.createdAt)))));
}

export async function overviewView() {
  const { data } = await api.get('/api/v1/admin/overview');
  return h('div', {},
    h('div', { class: 'page-head' }, h('h1', {}, 'Overview'),
      h('a', { class: 'btn btn-primary', href: '#/content/new' }, 'New item')),
    h('div', { class: 'cards' }, healthCard(data), countsCard(data), changesCard(data)));
}
