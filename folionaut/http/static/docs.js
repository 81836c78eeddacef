// The API reference: /api/openapi.json rendered as a page, grouped by tag, with a filter.
// Schemas are shown as compact trees; $refs link to the shared schemas at the bottom.

import { clear, h } from './dom.js';

const main = document.getElementById('main');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
let documentRoot = null;

function refName(ref) {
  return ref.split('/').pop();
}

function resolve(node) {
  if (!node || !node.$ref) return node;
  let target = documentRoot;
  for (const part of node.$ref.replace(/^#\//, '').split('/')) target = target && target[part];
  return target || {};
}

function anchor(kind, name) {
  return `${kind}-${name}`.replace(/[^A-Za-z0-9_-]/g, '-');
}

function operationAnchor(method, path) {
  return anchor('op', `${method}-${path}`);
}

/** One line describing a schema's type: `string (pattern …)`, `ContentItem`, `array of …`. */
function typeLabel(schema) {
  if (!schema) return 'any';
  if (schema.$ref) {
    const name = refName(schema.$ref);
    return h('a', { href: `#${anchor('schema', name)}` }, name);
  }
  if (schema.const !== undefined) return `const ${JSON.stringify(schema.const)}`;
  if (schema.enum) return `one of ${schema.enum.map((value) => JSON.stringify(value)).join(', ')}`;
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (schema[key]) {
      const parts = schema[key].map((part) => typeLabel(part));
      const joiner = key === 'allOf' ? ' and ' : ' or ';
      return h('span', {}, parts.flatMap((part, index) => (index ? [joiner, part] : [part])));
    }
  }
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : schema.type || 'any';
  if (type === 'array') return h('span', {}, 'array of ', typeLabel(schema.items));
  const limits = [];
  if (schema.format) limits.push(schema.format);
  if (schema.pattern) limits.push(`pattern ${schema.pattern}`);
  if (schema.minimum !== undefined) limits.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) limits.push(`≤ ${schema.maximum}`);
  if (schema.maxLength !== undefined) limits.push(`≤ ${schema.maxLength} chars`);
  if (schema.default !== undefined) limits.push(`default ${JSON.stringify(schema.default)}`);
  return limits.length ? `${type} (${limits.join(', ')})` : type;
}

/** An object's properties as a nested list; other schemas as their type line. */
function schemaTree(schema, depth = 0) {
  if (!schema || schema.$ref || depth > 4) return h('p', { class: 'schema-type' }, typeLabel(schema));
  if (schema.allOf) {
    return h('div', {}, schema.allOf.map((part) => schemaTree(part, depth + 1)));
  }
  if (schema.type === 'array' && schema.items && !schema.items.$ref && schema.items.properties) {
    return h('div', {}, h('p', { class: 'schema-type' }, 'array of:'), schemaTree(schema.items, depth + 1));
  }
  if (!schema.properties) {
    return h('p', { class: 'schema-type' }, typeLabel(schema), schema.description ? ` — ${schema.description}` : '');
  }
  const required = new Set(schema.required || []);
  return h('div', {},
    schema.description ? h('p', { class: 'hint' }, schema.description) : null,
    h('ul', { class: 'schema' }, Object.entries(schema.properties).map(([name, property]) => h('li', {},
      h('code', {}, name), required.has(name) ? h('span', { class: 'req' }, ' required') : null, ': ',
      property.properties || (property.type === 'object' && property.additionalProperties)
        ? schemaTree(property, depth + 1) : typeLabel(property),
      property.description && !property.properties ? h('span', { class: 'muted' }, ` — ${property.description}`)
        : null))));
}

function parametersTable(parameters) {
  if (!parameters.length) return null;
  return h('div', { class: 'table-scroll' }, h('table', { class: 'params' },
    h('caption', {}, 'Parameters'),
    h('thead', {}, h('tr', {}, ['Name', 'In', 'Type', 'Description'].map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, parameters.map(resolve).map((parameter) => h('tr', {},
      h('th', { scope: 'row' }, h('code', {}, parameter.name), parameter.required ? h('span', { class: 'req' }, ' required') : null),
      h('td', {}, parameter.in), h('td', {}, typeLabel(parameter.schema)),
      h('td', {}, parameter.description || ''))))));
}

function contentOf(holder) {
  const content = holder && holder.content;
  if (!content) return null;
  return Object.entries(content).map(([mediaType, media]) => h('div', { class: 'media' },
    h('p', { class: 'muted' }, mediaType), schemaTree(media.schema)));
}

function responsesList(responses) {
  return h('div', {}, h('h4', {}, 'Responses'), h('dl', { class: 'responses' },
    Object.entries(responses).map(([status, response]) => {
      const resolved = resolve(response);
      return [h('dt', {}, h('span', { class: `status status-${status[0]}` }, status)),
        h('dd', {}, resolved.description || '', contentOf(resolved))];
    })));
}

function securityLine(security) {
  if (!security || !security.length) return h('p', { class: 'security' }, 'No credentials needed.');
  const schemes = documentRoot.components.securitySchemes;
  return h('p', { class: 'security' }, 'Credentials, any of: ', security.flatMap((requirement, index) => {
    const name = Object.keys(requirement)[0];
    const scheme = schemes[name] || {};
    const how = scheme.in ? `${scheme.name} ${scheme.in}` : `${scheme.scheme || ''} ${scheme.type}`;
    const scopes = requirement[name] || [];
    const needs = scopes.length ? `, scope ${scopes.join(', ')}` : '';
    return [index ? ', ' : '', h('a', { href: `#${anchor('security', name)}` }, name), ` (${how.trim()}${needs})`];
  }));
}

function operationCard(method, path, operation) {
  const id = operationAnchor(method, path);
  return h('article', { class: 'operation', id, 'data-search': `${method} ${path} ${operation.summary || ''} ${operation.operationId || ''}`.toLowerCase() },
    h('h3', {}, h('span', { class: `method method-${method}` }, method.toUpperCase()), ' ',
      h('code', { class: 'path' }, path), ' ', h('a', { class: 'permalink', href: `#${id}`, 'aria-label': `Link to ${method.toUpperCase()} ${path}` }, '#')),
    h('p', { class: 'summary' }, operation.summary || ''),
    operation.description ? h('p', {}, operation.description) : null,
    securityLine(operation.security),
    parametersTable(operation.parameters || []),
    operation.requestBody ? h('div', {}, h('h4', {}, 'Request body'), contentOf(resolve(operation.requestBody)))
      : null,
    responsesList(operation.responses || {}),
    h('p', { class: 'muted op-id' }, `operationId: ${operation.operationId}`));
}

function render(spec) {
  documentRoot = spec;
  const byTag = new Map();
  let count = 0;
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const tag = (item[method].tags || ['other'])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([method, path, item[method]]);
      count += 1;
    }
  }
  const filter = h('input', { type: 'search', id: 'filter', placeholder: 'e.g. content, POST, history', autocomplete: 'off' });
  const matches = h('p', { class: 'summary', 'aria-live': 'polite' }, `${count} operations`);
  const sections = [...byTag.entries()].map(([tag, operations]) => h('section', { class: 'tag', id: anchor('tag', tag), 'aria-labelledby': anchor('tag-h', tag) },
    h('h2', { id: anchor('tag-h', tag) }, tag),
    operations.map(([method, path, operation]) => operationCard(method, path, operation))));
  filter.addEventListener('input', () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const card of main.querySelectorAll('.operation')) {
      const visible = words.every((word) => card.dataset.search.includes(word));
      card.hidden = !visible;
      if (visible) shown += 1;
    }
    for (const section of main.querySelectorAll('section.tag')) {
      section.hidden = !section.querySelector('.operation:not([hidden])');
    }
    matches.textContent = `${shown} of ${count} operations`;
  });
  const schemes = spec.components.securitySchemes || {};
  const schemas = spec.components.schemas || {};
  clear(main,
    h('h1', {}, `${spec.info.title} ${spec.info.version}`),
    h('p', {}, spec.info.description || ''),
    h('p', { class: 'muted' }, `OpenAPI ${spec.openapi} · `, h('a', { href: '/api/openapi.json' }, 'the document itself')),
    h('nav', { class: 'toc', 'aria-label': 'Sections' }, h('ul', {},
      [...byTag.keys()].map((tag) => h('li', {}, h('a', { href: `#${anchor('tag', tag)}` }, tag))),
      h('li', {}, h('a', { href: '#credentials' }, 'credentials')),
      h('li', {}, h('a', { href: '#schemas' }, 'schemas')))),
    h('div', { class: 'field' }, h('label', { for: 'filter' }, 'Filter operations'), filter),
    matches,
    sections,
    h('section', { id: 'credentials', 'aria-labelledby': 'credentials-h' }, h('h2', { id: 'credentials-h' }, 'Credentials'),
      h('dl', {}, Object.entries(schemes).map(([name, scheme]) => [
        h('dt', { id: anchor('security', name) }, h('code', {}, name)),
        h('dd', {}, scheme.description || '', ' ', h('span', { class: 'muted' },
          scheme.in ? `(${scheme.type}: ${scheme.name} in ${scheme.in})` : `(${scheme.type} ${scheme.scheme || ''})`))]))),
    h('section', { id: 'schemas', 'aria-labelledby': 'schemas-h' }, h('h2', { id: 'schemas-h' }, 'Schemas'),
      Object.entries(schemas).map(([name, schema]) => h('article', { class: 'schema-card', id: anchor('schema', name) },
        h('h3', {}, h('code', {}, name)), schemaTree(schema)))));
  document.title = `${spec.info.title} ${spec.info.version} reference`;
  if (window.location.hash) {
    const target = document.getElementById(window.location.hash.slice(1));
    if (target) target.scrollIntoView();
  }
}

fetch('/api/openapi.json', { headers: { Accept: 'application/json' } })
  .then((response) => {
    if (!response.ok) throw new Error(`/api/openapi.json answered ${response.status}`);
    return response.json();
  })
  .then(render)
  .catch((error) => clear(main, h('h1', {}, 'API reference'), h('p', { class: 'panel error', role: 'alert' },
    `The API description could not be loaded: ${error.message}`)));
