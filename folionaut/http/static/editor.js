// The editor: create and edit an item. Common fields get a form (title, summary, tags live in
// `data`); the rest of `data` is raw JSON. The API's field errors appear next to their inputs; a
// stale edit (409) shows what changed and offers to reload, compare or save over it.

import { api, CONTENT } from './api.js';
import {
  announce, badge, clear, confirmDialog, field, h, setFieldError, time, titleOf, uid,
} from './dom.js';
import { sideBySide } from './diff.js';
import { contentTypes } from './content-list.js';

const STATUSES = ['draft', 'published', 'archived'];
const STATUS_ACTIONS = { published: 'Publish', draft: 'Move to draft', archived: 'Archive' };

/** The `data` keys the form edits, when the value has the form's shape (else they stay in the JSON). */
const FORM_KEYS = {
  title: (value) => typeof value === 'string',
  summary: (value) => typeof value === 'string',
  tags: (value) => Array.isArray(value) && value.every((tag) => typeof tag === 'string'),
};

function split(data) {
  const form = {};
  const rest = {};
  for (const [key, value] of Object.entries(data || {})) {
    if (FORM_KEYS[key] && FORM_KEYS[key](value)) form[key] = value;
    else rest[key] = value;
  }
  return { form, rest };
}

/** Put the form's values and the raw JSON back together, keeping the item's key order (a
 * reordering alone would count as a change and make a new version). */
function merge(original, formValues, rest) {
  const data = {};
  const take = (key) => {
    if (key in formValues) {
      if (formValues[key] !== undefined) data[key] = formValues[key];
    } else if (key in rest) {
      data[key] = rest[key];
    }
  };
  for (const key of Object.keys(original || {})) take(key);
  for (const key of [...Object.keys(formValues), ...Object.keys(rest)]) if (!(key in data)) take(key);
  return data;
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export async function editorView(id, params = new URLSearchParams()) {
  const creating = id === null;
  let item = creating ? null : (await api.get(`${CONTENT}/${id}`)).data;
  const headingId = uid('editor');

  const typeInput = h('input', { name: 'type', required: creating, pattern: '[a-z0-9-]{1,100}', list: 'known-types',
    autocomplete: 'off', spellcheck: 'false', readonly: !creating });
  const typeList = h('datalist', { id: 'known-types' });
  contentTypes().then((types) => clear(typeList, types.map((type) => h('option', { value: type }))));
  const slugInput = h('input', { name: 'slug', pattern: '[a-z0-9-]{1,100}', autocomplete: 'off', spellcheck: 'false' });
  const statusSelect = h('select', { name: 'status' }, STATUSES.map((status) => h('option', { value: status }, status)));
  const sortInput = h('input', { name: 'sortOrder', type: 'number', step: '1', inputmode: 'numeric' });
  const titleInput = h('input', { name: 'title', autocomplete: 'off' });
  const summaryInput = h('textarea', { name: 'summary', rows: '3' });
  const tagsInput = h('input', { name: 'tags', autocomplete: 'off' });
  const jsonInput = h('textarea', { name: 'data', rows: '12', class: 'mono', spellcheck: 'false' });

  const fields = {
    title: field('Title', titleInput, { name: 'title',
      hint: creating ? 'data.title; the slug is made from it when left empty.' : 'data.title' }),
    type: field('Type', typeInput, { name: 'type',
      hint: creating ? 'Lowercase letters, digits and hyphens, e.g. project.' : 'The type of an item cannot change.' }),
    slug: field('Slug', slugInput, { name: 'slug', hint: creating
      ? 'Lowercase letters, digits and hyphens. Empty: made from the title.'
      : 'Lowercase letters, digits and hyphens. Changing it changes the item’s public address.' }),
    status: field('Status', statusSelect, { name: 'status' }),
    sortOrder: field('Sort order', sortInput, { name: 'sortOrder', hint: 'Lower comes first.' }),
    summary: field('Summary', summaryInput, { name: 'summary', hint: 'data.summary' }),
    tags: field('Tags', tagsInput, { name: 'tags', hint: 'data.tags, separated by commas.' }),
    data: field('Other data (JSON)', jsonInput, { name: 'data',
      hint: 'Every other field of data, as a JSON object.' }),
  };
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const conflictPanel = h('div', { class: 'conflict', hidden: true });
  const saveButton = h('button', { type: 'submit', class: 'btn btn-primary' }, creating ? 'Create' : 'Save');
  const form = h('form', { class: 'editor', novalidate: true, 'aria-labelledby': headingId },
    formError, conflictPanel,
    h('div', { class: 'grid' }, fields.title, fields.type, fields.slug, fields.status, fields.sortOrder),
    fields.summary, fields.tags, fields.data, typeList,
    h('div', { class: 'actions' }, saveButton,
      h('span', { class: 'hint' }, 'Ctrl+S saves')));

  function fill(source) {
    const { form: formValues, rest } = split(source ? source.data : {});
    typeInput.value = source ? source.type : params.get('type') || '';
    slugInput.value = source ? source.slug : '';
    statusSelect.value = source ? source.status : 'draft';
    sortInput.value = String(source ? source.sortOrder : 0);
    titleInput.value = formValues.title || '';
    summaryInput.value = formValues.summary || '';
    tagsInput.value = (formValues.tags || []).join(', ');
    jsonInput.value = pretty(rest);
  }

  function clearErrors() {
    for (const wrapper of Object.values(fields)) setFieldError(wrapper, []);
    formError.hidden = true;
    clear(formError);
  }

  function showErrors(problems) {
    let first = null;
    const elsewhere = [];
    for (const [name, messages] of Object.entries(problems)) {
      const target = fields[name === 'body' ? '' : name];
      if (target) {
        setFieldError(target, messages);
        first = first || target;
      } else {
        elsewhere.push(`${name}: ${messages.join(' ')}`);
      }
    }
    if (elsewhere.length) {
      clear(formError, h('p', {}, 'The item was not saved:'), h('ul', {}, elsewhere.map((text) => h('li', {}, text))));
      formError.hidden = false;
    }
    const control = first && first.querySelector('input, select, textarea');
    if (control) control.focus();
    else if (elsewhere.length) formError.focus();
  }

  /** The body to send, or null after showing what is wrong with the input. */
  function collect() {
    let rest;
    try {
      rest = jsonInput.value.trim() ? JSON.parse(jsonInput.value) : {};
    } catch (error) {
      showErrors({ data: [`Not valid JSON: ${error.message}`] });
      return null;
    }
    if (rest === null || typeof rest !== 'object' || Array.isArray(rest)) {
      showErrors({ data: ['Must be a JSON object: { … }'] });
      return null;
    }
    const tags = tagsInput.value.split(',').map((tag) => tag.trim()).filter(Boolean);
    const formValues = {
      title: titleInput.value.trim() || undefined,
      summary: summaryInput.value.trim() || undefined,
      tags: tags.length ? tags : undefined,
    };
    for (const key of Object.keys(FORM_KEYS)) {
      if (key in rest && formValues[key] !== undefined) {
        showErrors({ data: [`"${key}" is in the form above; remove it here or clear the form field.`] });
        return null;
      }
      if (key in rest) delete formValues[key];
    }
    const sortOrder = sortInput.value.trim() === '' ? 0 : Number(sortInput.value);
    const body = {
      slug: slugInput.value.trim() || undefined,
      status: statusSelect.value,
      sortOrder: Number.isInteger(sortOrder) ? sortOrder : sortInput.value,
      data: merge(item && item.data, formValues, rest),
    };
    if (creating) body.type = typeInput.value.trim();
    return body;
  }

  async function save(bodyOverride) {
    clearErrors();
    const body = bodyOverride || collect();
    if (!body) return;
    saveButton.disabled = true;
    try {
      if (creating) {
        const { data } = await api.post(CONTENT, body);
        contentTypes(true);
        announce(`Created “${titleOf(data)}” (version ${data.version}).`);
        window.location.hash = `#/content/${data.id}`;
        return;
      }
      const { data } = await api.put(`${CONTENT}/${item.id}`, { ...body, version: item.version });
      const changed = data.version !== item.version;
      item = data;
      conflictPanel.hidden = true;
      fill(item);
      renderHead();
      announce(changed ? `Saved: version ${item.version}.` : 'Nothing had changed; nothing saved.');
    } catch (error) {
      if (error.status === 400) showErrors(error.fields && Object.keys(error.fields).length ? error.fields
        : { body: [error.message] });
      else if (error.status === 409) await onConflict(error, body);
      else if (error.status !== 401) showErrors({ body: [error.message] });
    } finally {
      saveButton.disabled = false;
    }
  }

  async function onConflict(error, mine) {
    if (creating) {
      showErrors({ slug: [error.message] });
      return;
    }
    const latest = (await api.get(`${CONTENT}/${item.id}`)).data;
    if (latest.version === item.version) { // not a stale version: the slug is taken
      showErrors({ slug: [error.message] });
      return;
    }
    const theirs = { slug: latest.slug, status: latest.status, sortOrder: latest.sortOrder, data: latest.data };
    const ours = { slug: mine.slug || item.slug, status: mine.status, sortOrder: mine.sortOrder, data: mine.data };
    const compareArea = h('div', { class: 'compare', hidden: true });
    const compare = h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false' }, 'Compare');
    const reload = h('button', { type: 'button', class: 'btn' }, 'Reload their version');
    const overwrite = h('button', { type: 'button', class: 'btn btn-danger' }, 'Save mine over theirs');
    compare.addEventListener('click', () => {
      const open = compareArea.hidden;
      if (open) clear(compareArea, sideBySide(theirs, ours, `Saved: version ${latest.version}`, 'Your edits'));
      compareArea.hidden = !open;
      compare.setAttribute('aria-expanded', String(open));
    });
    reload.addEventListener('click', () => {
      item = latest;
      fill(item);
      renderHead();
      conflictPanel.hidden = true;
      announce(`Reloaded version ${item.version}; your edits were discarded.`);
      titleInput.focus();
    });
    overwrite.addEventListener('click', () => {
      item = latest;
      save(mine);
    });
    clear(conflictPanel,
      h('h2', {}, 'Someone else saved this item meanwhile'),
      h('p', {}, `You were editing version ${mine.version || item.version}; it is now at version ${latest.version} `,
        `(${latest.status}, saved `, time(latest.updatedAt), '). Your edits are not saved yet.'),
      h('div', { class: 'actions' }, compare, reload, overwrite),
      compareArea);
    conflictPanel.hidden = false;
    conflictPanel.setAttribute('role', 'alert');
    compare.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save();
  });
  form.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      save();
    }
  });

  const head = h('div', { class: 'page-head' });
  const facts = h('p', { class: 'facts-line' });
  const trashNotice = h('div', { class: 'panel notice', role: 'status', hidden: true });

  function renderHead() {
    if (creating) {
      clear(head, h('h1', { id: headingId }, 'New item'));
      return;
    }
    const actions = h('div', { class: 'actions' });
    if (!item.deletedAt) {
      for (const status of STATUSES) {
        if (status === item.status) continue;
        const button = h('button', { type: 'button', class: 'btn' }, STATUS_ACTIONS[status]);
        button.addEventListener('click', () => {
          statusSelect.value = status;
          save();
        });
        actions.append(button);
      }
      const remove = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete');
      remove.addEventListener('click', async () => {
        const sure = await confirmDialog({
          title: 'Move to the trash?',
          body: `“${titleOf(item)}” disappears from the site and goes to the trash, where you can restore it.`,
          confirm: 'Move to trash',
        });
        if (!sure) {
          remove.focus();
          return;
        }
        try {
          await api.delete(`${CONTENT}/${item.id}`);
          announce(`Moved “${titleOf(item)}” to the trash.`);
          window.location.hash = '#/trash';
        } catch (error) {
          announce(`Deleting failed: ${error.message}`, 'error');
        }
      });
      actions.append(remove);
    }
    actions.append(h('a', { class: 'btn', href: `#/content/${item.id}/history` }, 'History'));
    clear(head, h('h1', { id: headingId }, titleOf(item)), actions);
    clear(facts, badge(item.status), ` ${item.type}/${item.slug} · version ${item.version} · updated `,
      time(item.updatedAt), h('span', { class: 'mono muted' }, ` · ${item.id}`));
    trashNotice.hidden = !item.deletedAt;
    if (item.deletedAt) {
      const restore = h('button', { type: 'button', class: 'btn btn-primary' }, 'Restore from trash');
      restore.addEventListener('click', async () => {
        try {
          item = (await api.post(`${CONTENT}/${item.id}/restore`, { version: item.version })).data;
          fill(item);
          renderHead();
          announce(`Restored “${titleOf(item)}”.`);
        } catch (error) {
          announce(`Restoring failed: ${error.message}`, 'error');
        }
      });
      clear(trashNotice, h('p', {}, 'This item is in the trash (deleted ', time(item.deletedAt),
        '). Restore it to edit it.'), restore);
    }
    saveButton.disabled = Boolean(item.deletedAt);
  }

  fill(item);
  renderHead();
  return h('div', { class: 'editor-screen' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/content' }, 'Content'), ' / ', creating ? 'New' : 'Edit'),
    head, creating ? null : facts, trashNotice, form);
}
