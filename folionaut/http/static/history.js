// History: every version of an item, a side-by-side diff between any two, and one-click restore.

import { api, CONTENT } from './api.js';
import { announce, badge, clear, h, time, titleOf } from './dom.js';
import { sideBySide } from './diff.js';

const PAGE = 100;

export async function historyView(id, params) {
  const [{ data: first }, { data: loaded }] = await Promise.all([
    api.get(`${CONTENT}/${id}`), api.get(`${CONTENT}/${id}/history`, { limit: PAGE })]);
  let item = first;
  let versions = loaded;
  let left = Number(params.get('from')) || null;
  let right = Number(params.get('to')) || null;

  const heading = h('h1', {}, `History of “${titleOf(item)}”`);
  const list = h('div', { class: 'versions' });
  const diffArea = h('section', { class: 'diff-area', 'aria-labelledby': 'diff-heading' });
  const more = h('button', { type: 'button', class: 'btn' }, 'Load older versions');
  more.hidden = loaded.length < PAGE;

  function pickDefaults() {
    const numbers = versions.map((entry) => entry.version);
    if (!numbers.includes(right)) right = numbers[0] || null;
    if (!numbers.includes(left) || left === right) left = numbers.find((number) => number < right) || right;
  }

  function entryOf(version) {
    return versions.find((entry) => entry.version === version);
  }

  function radio(name, version, checked, label) {
    const input = h('input', { type: 'radio', name, value: String(version), checked });
    input.addEventListener('change', () => {
      if (name === 'left') left = version;
      else right = version;
      renderDiff();
      // Keep the choice in the address without redrawing the screen.
      window.history.replaceState(null, '', `#/content/${id}/history?from=${left}&to=${right}`);
    });
    return h('label', { class: 'radio' }, input, h('span', { class: 'visually-hidden' }, label),
      h('span', { class: 'radio-text', 'aria-hidden': 'true' }, name === 'left' ? 'from' : 'to'));
  }

  function renderList() {
    const rows = versions.map((entry) => {
      const current = entry.version === item.version;
      const restore = h('button', { type: 'button', class: 'btn' }, 'Restore');
      restore.setAttribute('aria-label', `Restore version ${entry.version}`);
      restore.hidden = current && !item.deletedAt;
      restore.addEventListener('click', async () => {
        restore.disabled = true;
        try {
          const { data } = await api.post(`${CONTENT}/${id}/restore`, { version: entry.version });
          item = data;
          versions = (await api.get(`${CONTENT}/${id}/history`, { limit: PAGE })).data;
          left = entry.version;
          right = item.version;
          heading.textContent = `History of “${titleOf(item)}”`;
          renderList();
          renderDiff();
          announce(`Restored version ${entry.version} as version ${item.version}.`);
          list.querySelector('tbody tr').focus();
        } catch (error) {
          restore.disabled = false;
          announce(`Restoring failed: ${error.message}`, 'error');
        }
      });
      return h('tr', { 'data-version': String(entry.version), tabindex: '-1' },
        h('td', { 'data-label': 'Compare' }, radio('left', entry.version, entry.version === left,
          `Compare from version ${entry.version}`),
        radio('right', entry.version, entry.version === right, `Compare to version ${entry.version}`)),
        h('th', { scope: 'row', 'data-label': 'Version' }, `v${entry.version}`, current ? ' (current)' : ''),
        h('td', { 'data-label': 'Change' }, badge(entry.changeType), ' ', entry.changeSummary || ''),
        h('td', { 'data-label': 'By' }, entry.changedBy || '—'),
        h('td', { 'data-label': 'When' }, time(entry.createdAt)),
        h('td', { 'data-label': 'Actions', class: 'row-actions' }, restore));
    });
    clear(list, h('div', { class: 'table-scroll' }, h('table', { class: 'items stack history' },
      h('caption', { class: 'visually-hidden' }, 'Versions, newest first. Pick two to compare.'),
      h('thead', {}, h('tr', {}, ['Compare', 'Version', 'Change', 'By', 'When', 'Actions']
        .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, rows))));
  }

  function renderDiff() {
    const from = entryOf(left);
    const to = entryOf(right);
    if (!from || !to) {
      clear(diffArea, h('h2', { id: 'diff-heading' }, 'Compare'), h('p', {}, 'Pick two versions above.'));
      return;
    }
    clear(diffArea, h('h2', { id: 'diff-heading' }, `Version ${from.version} → version ${to.version}`),
      sideBySide(from.data, to.data, `Version ${from.version} (${from.changeType})`,
        `Version ${to.version} (${to.changeType})`));
  }

  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const { data } = await api.get(`${CONTENT}/${id}/history`, { limit: PAGE, offset: versions.length });
      versions = versions.concat(data);
      more.hidden = data.length < PAGE;
      renderList();
    } finally {
      more.disabled = false;
    }
  });

  pickDefaults();
  renderList();
  renderDiff();
  return h('div', { class: 'history-screen' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/content' }, 'Content'), ' / ',
      h('a', { href: `#/content/${id}` }, titleOf(item)), ' / History'),
    h('div', { class: 'page-head' }, heading, h('a', { class: 'btn', href: `#/content/${id}` }, 'Edit')),
    item.deletedAt ? h('p', { class: 'panel notice' }, 'This item is in the trash; restoring a version brings it back.')
      : null,
    h('p', { class: 'hint' }, 'Each version holds the item as it was after that change. Restoring copies a '
      + 'version into a new one; nothing is lost.'),
    list, more, diffArea);
}
