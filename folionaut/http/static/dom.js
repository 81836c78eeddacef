// Small DOM helpers: elements built with textContent (never innerHTML), labelled form fields,
// dates, and the status line.

/**
 * h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', child…)
 * Attributes: on* → listeners; true → boolean attribute; false/null/undefined → left out.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'value' && 'value' in element) {
      element.value = value;
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let nextId = 0;
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled field: label, control, optional hint, and a slot for the server's field errors. */
export function field(label, control, { hint, name } = {}) {
  const id = control.id || uid('field');
  control.id = id;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const described = [hintId, errorId].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', described);
  const wrapper = h('div', { class: 'field', 'data-field': name || null },
    h('label', { for: id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errorId, hidden: true }));
  return wrapper;
}

/** Show (or clear, with no problems) the errors of one field. */
export function setFieldError(wrapper, problems) {
  const slot = wrapper.querySelector('.field-error');
  const control = wrapper.querySelector('input, select, textarea');
  if (problems && problems.length) {
    slot.textContent = problems.join(' ');
    slot.hidden = false;
    if (control) control.setAttribute('aria-invalid', 'true');
  } else {
    slot.textContent = '';
    slot.hidden = true;
    if (control) control.removeAttribute('aria-invalid');
  }
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(iso) {
  if (!iso) return '—';
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : dateFormat.format(moment);
}

export function time(iso) {
  return h('time', { datetime: iso }, formatDate(iso));
}

const numberFormat = new Intl.NumberFormat();
export function formatNumber(value) {
  return numberFormat.format(value);
}

export function badge(status) {
  return h('span', { class: `badge badge-${status}` }, status);
}

export function titleOf(item) {
  const title = item && item.data && item.data.title;
  return typeof title === 'string' && title.trim() ? title : `${item.type}/${item.slug}`;
}

let statusTimer = 0;
/** A short message in the polite live region (read out by screen readers). */
export function announce(message, kind = 'info') {
  const region = document.getElementById('status-line');
  region.textContent = message;
  region.dataset.kind = kind;
  region.hidden = false;
  window.clearTimeout(statusTimer);
  statusTimer = window.setTimeout(() => {
    region.hidden = true;
  }, 6000);
}

/** A message shown where a screen's content would be, when loading it failed. */
export function errorPanel(error) {
  return h('div', { class: 'panel error', role: 'alert' },
    h('p', {}, error.message),
    error.requestId ? h('p', { class: 'hint' }, `Request id: ${error.requestId}`) : null);
}

/** A modal confirmation (<dialog>); resolves true when confirmed. Focus starts on Cancel. */
export function confirmDialog({ title, body, confirm, danger = false }) {
  return new Promise((resolve) => {
    const cancelButton = h('button', { type: 'button', class: 'btn', value: 'cancel' }, 'Cancel');
    const confirmButton = h('button', { type: 'button', class: danger ? 'btn btn-danger' : 'btn btn-primary' },
      confirm);
    const headingId = uid('dialog');
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': headingId },
      h('h2', { id: headingId }, title), h('p', {}, body),
      h('div', { class: 'actions' }, cancelButton, confirmButton));
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancelButton.addEventListener('click', () => finish(false));
    confirmButton.addEventListener('click', () => finish(true));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancelButton.focus();
  });
}
