// Content and Trash: filters (type, status), full-text search, sorting and paging over any number
// of items. The filters live in the address (#/content?q=…&page=2), so Back and bookmarks work.

import { api, CONTENT } from './api.js';
import {
  announce, badge, clear, confirmDialog, errorPanel, field, formatNumber, h, time, titleOf,
} from './dom.js';

const SORTS = [
  ['', 'Sort order, then newest'],
  ['-updatedAt', 'Recently updated'],
  ['updatedAt', 'Least recently updated'],
  ['-createdAt', 'Newest'],
  ['createdAt', 'Oldest'],
  ['title', 'Title A–Z'],
  ['-title', 'Title Z–A'],
  ['slug', 'Slug'],
  ['type', 'Type'],
  ['status', 'Status'],
];
const PAGE_SIZES = ['25', '50', '100'];
const STATUSES = ['draft', 'published', 'archived'];

let knownTypes = null;
/** Every type that has items (from the overview's counts), fetched once per page load. */
export function contentTypes(refresh = false) {
  if (!knownTypes || refresh) {
    knownTypes = api.get('/api/v1/admin/overview', { recent: 1 })
      .then(({ data }) => [...new Set(data.counts.map((row) => row.type))].sort())
      .catch(() => []);
  }
  return knownTypes;
}

function select(name, options, value) {
  return h('select', { name },
    options.map(([optionValue, label]) => h('option', { value: optionValue, selected: optionValue === value }, label)));
}

function stateFrom(params) {
  const size = PAGE_SIZES.includes(params.get('size')) ? params.get('size') : '50';
  const page = Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1);
  return {
    q: params.get('q') || '', type: params.get('type') || '', status: params.get('status') || '',
    sort: params.get('sort') || '', size, page,
  };
}

function hashOf(base, state) {
  const params = new URLSearchParams();
  for (const key of ['q', 'type', 'status', 'sort']) if (state[key]) params.set(key, state[key]);
  if (state.size !== '50') params.set('size', state.size);
  if (state.page > 1) params.set('page', String(state.page));
  const search = params.toString();
  return `#${base}${search ? `?${search}` : ''}`;
}

export async function contentListView(params, { trash }) {
  const base = trash ? '/trash' : '/content';
  const state = stateFrom(params);

  const search = h('input', { type: 'search', name: 'q', id: 'content-search', value: state.q,
    placeholder: 'Words in the title, slug or text', autocomplete: 'off' });
  const typeSelect = select('type', [['', 'All types'], ...(state.type ? [[state.type, state.type]] : [])],
    state.type);
  // The types come from the overview's counts, fetched beside the first page rather than before it.
  contentTypes(true).then((types) => {
    const all = [...new Set([...types, ...(state.type ? [state.type] : [])])].sort();
    const chosen = typeSelect.value;
    clear(typeSelect, h('option', { value: '' }, 'All types'), all.map((type) => h('option', { value: type }, type)));
    typeSelect.value = chosen;
  });
  const statusSelect = select('status', [['', 'Any status'], ...STATUSES.map((status) => [status, status])],
    state.status);
  const sortSelect = select('sort', SORTS, state.sort);
  const sizeSelect = select('size', PAGE_SIZES.map((size) => [size, `${size} a page`]), state.size);
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': trash ? 'Filter the trash' : 'Filter content' },
    field('Search', search, { hint: 'Ctrl+K jumps here' }),
    field('Type', typeSelect), field('Status', statusSelect), field('Sort by', sortSelect),
    field('Page size', sizeSelect));
  filters.addEventListener('submit', (event) => event.preventDefault());

  const summary = h('p', { class: 'summary', id: 'list-summary', 'aria-live': 'polite' }, 'Loading…');
  const results = h('div', { class: 'results' });
  const previous = h('button', { type: 'button', class: 'btn', 'data-page': 'previous' }, '← Previous');
  const next = h('button', { type: 'button', class: 'btn', 'data-page': 'next' }, 'Next →');
  const pageLabel = h('span', { class: 'page-label' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, previous, pageLabel, next);
  let loadTicket = 0;

  async function load({ push = false } = {}) {
    const url = hashOf(base, state);
    if (url !== window.location.hash) {
      // Update the address without a hashchange (which would redraw the screen and lose focus).
      window.history[push ? 'pushState' : 'replaceState'](null, '', url);
    }
    const ticket = ++loadTicket;
    const size = Number(state.size);
    results.setAttribute('aria-busy', 'true');
    let answer;
    try {
      answer = await api.get(CONTENT, {
        q: state.q.trim(), type: state.type, status: state.status, sort: state.sort, trash: trash ? 'true' : '',
        limit: size, offset: (state.page - 1) * size, includeTotal: 'true',
      });
    } catch (error) {
      if (ticket === loadTicket) {
        clear(results, errorPanel(error));
        results.removeAttribute('aria-busy');
      }
      return;
    }
    if (ticket !== loadTicket) return;
    const { data: items, total } = answer;
    const pages = Math.max(1, Math.ceil(total / size));
    if (state.page > pages && total > 0) {
      state.page = pages;
      load();
      return;
    }
    const first = total === 0 ? 0 : (state.page - 1) * size + 1;
    const filtered = Boolean(state.q || state.type || state.status);
    const noun = `${total === 1 ? 'item' : 'items'}${trash ? ' in the trash' : ''}`;
    if (total === 0) {
      summary.textContent = trash ? (filtered ? 'Nothing in the trash matches.' : 'The trash is empty.')
        : (filtered ? 'No items match.' : 'No items yet.');
    } else {
      const last = first + items.length - 1;
      summary.textContent = `Showing ${formatNumber(first)}–${formatNumber(last)} of ${formatNumber(total)} ${noun}`;
    }
    pageLabel.textContent = `Page ${formatNumber(state.page)} of ${formatNumber(pages)}`;
    previous.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
    pager.hidden = total <= size;
    clear(results, items.length ? table(items) : null);
    results.removeAttribute('aria-busy');
  }

  function table(items) {
    const head = trash
      ? ['Title', 'Type', 'Status', 'Deleted', 'Actions']
      : ['Title', 'Type', 'Status', 'Slug', 'Updated', 'Version'];
    return h('div', { class: 'table-scroll' }, h('table', { class: 'items stack' },
      h('caption', { class: 'visually-hidden' }, trash ? 'Items in the trash' : 'Content items'),
      h('thead', {}, h('tr', {}, head.map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, items.map((item) => (trash ? trashRow(item) : itemRow(item))))));
  }

  function itemRow(item) {
    return h('tr', { 'data-id': item.id },
      h('th', { scope: 'row', 'data-label': 'Title' }, h('a', { href: `#/content/${item.id}` }, titleOf(item))),
      h('td', { 'data-label': 'Type' }, item.type),
      h('td', { 'data-label': 'Status' }, badge(item.status)),
      h('td', { 'data-label': 'Slug', class: 'mono' }, item.slug),
      h('td', { 'data-label': 'Updated' }, time(item.updatedAt)),
      h('td', { 'data-label': 'Version' }, `v${item.version}`));
  }

  function trashRow(item) {
    const restore = h('button', { type: 'button', class: 'btn' }, 'Restore');
    const destroy = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete forever');
    restore.setAttribute('aria-label', `Restore ${titleOf(item)}`);
    destroy.setAttribute('aria-label', `Delete ${titleOf(item)} forever`);
    restore.addEventListener('click', async () => {
      restore.disabled = true;
      try {
        // The deletion's own version holds the data as it was; restoring it undeletes the item.
        await api.post(`${CONTENT}/${item.id}/restore`, { version: item.version });
        announce(`Restored “${titleOf(item)}”.`);
        load();
      } catch (error) {
        restore.disabled = false;
        announce(`Restoring failed: ${error.message}`, 'error');
      }
    });
    destroy.addEventListener('click', async () => {
      const sure = await confirmDialog({
        title: 'Delete forever?',
        body: `“${titleOf(item)}” and its whole version history will be removed for good. This cannot be undone.`,
        confirm: 'Delete forever', danger: true,
      });
      if (!sure) {
        destroy.focus();
        return;
      }
      try {
        await api.delete(`${CONTENT}/${item.id}`, { hard: 'true' });
        announce(`Deleted “${titleOf(item)}” forever.`);
        load();
        summary.focus();
      } catch (error) {
        announce(`Deleting failed: ${error.message}`, 'error');
      }
    });
    return h('tr', { 'data-id': item.id },
      h('th', { scope: 'row', 'data-label': 'Title' }, h('a', { href: `#/content/${item.id}/history` }, titleOf(item))),
      h('td', { 'data-label': 'Type' }, item.type),
      h('td', { 'data-label': 'Status' }, badge(item.status)),
      h('td', { 'data-label': 'Deleted' }, time(item.deletedAt)),
      h('td', { 'data-label': 'Actions', class: 'row-actions' }, restore, destroy));
  }

  let typingTimer = 0;
  search.addEventListener('input', () => {
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(() => {
      state.q = search.value;
      state.page = 1;
      load();
    }, 250);
  });
  for (const [control, key] of [[typeSelect, 'type'], [statusSelect, 'status'], [sortSelect, 'sort'],
    [sizeSelect, 'size']]) {
    control.addEventListener('change', () => {
      state[key] = control.value;
      state.page = 1;
      load();
    });
  }
  previous.addEventListener('click', () => {
    state.page -= 1;
    load({ push: true });
  });
  next.addEventListener('click', () => {
    state.page += 1;
    load({ push: true });
  });
  summary.tabIndex = -1;

  await load();
  return h('div', { class: 'list-screen' },
    h('div', { class: 'page-head' }, h('h1', {}, trash ? 'Trash' : 'Content'),
      trash ? null : h('a', { class: 'btn btn-primary', href: '#/content/new' }, 'New item')),
    trash ? h('p', { class: 'hint' }, 'Deleted items stay here, with their history, until you restore them or delete them forever.') : null,
    filters, summary, results, pager);
}
