// Side-by-side diff of two JSON values: each pretty-printed with sorted keys, compared line by line
// (longest common subsequence), shown as a two-column table with changed lines marked in words too.

import { h } from './dom.js';

const MAX_CELLS = 4_000_000; // beyond this, the differing middle is shown as replaced wholesale

function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical(value[key])]));
  }
  return value;
}

export function linesOf(value) {
  return JSON.stringify(canonical(value), null, 2).split('\n');
}

// Lines compare without their trailing comma: a key that merely stopped being the last one
// (JSON's comma moves) is not a change anybody cares about.
function key(line) {
  return line.endsWith(',') ? line.slice(0, -1) : line;
}

/** Operations turning `a` into `b`: {op: 'same'|'del'|'add', a?, b?}. */
export function lineDiff(linesA, linesB) {
  const a = linesA.map(key);
  const b = linesB.map(key);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const ops = [];
  for (let k = 0; k < start; k += 1) ops.push({ op: 'same', a: linesA[k], b: linesB[k] });
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if (midA.length * midB.length > MAX_CELLS) {
    for (let k = start; k < endA; k += 1) ops.push({ op: 'del', a: linesA[k] });
    for (let k = start; k < endB; k += 1) ops.push({ op: 'add', b: linesB[k] });
  } else {
    // lengths[i][j]: LCS length of midA[i:] and midB[j:].
    const width = midB.length + 1;
    const lengths = new Uint32Array((midA.length + 1) * width);
    for (let i = midA.length - 1; i >= 0; i -= 1) {
      for (let j = midB.length - 1; j >= 0; j -= 1) {
        lengths[i * width + j] = midA[i] === midB[j]
          ? lengths[(i + 1) * width + j + 1] + 1
          : Math.max(lengths[(i + 1) * width + j], lengths[i * width + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
        ops.push({ op: 'same', a: linesA[start + i], b: linesB[start + j] });
        i += 1;
        j += 1;
      } else if (j < midB.length && (i === midA.length || lengths[i * width + j + 1] >= lengths[(i + 1) * width + j])) {
        ops.push({ op: 'add', b: linesB[start + j] });
        j += 1;
      } else {
        ops.push({ op: 'del', a: linesA[start + i] });
        i += 1;
      }
    }
  }
  for (let k = 0; k < a.length - endA; k += 1) ops.push({ op: 'same', a: linesA[endA + k], b: linesB[endB + k] });
  return ops;
}

/** Rows of the side-by-side view: removals and additions next to each other. */
function pairRows(ops) {
  const rows = [];
  let lineA = 0;
  let lineB = 0;
  for (let index = 0; index < ops.length;) {
    if (ops[index].op === 'same') {
      lineA += 1;
      lineB += 1;
      rows.push({ kind: 'same', a: ops[index].a, b: ops[index].b, numberA: lineA, numberB: lineB });
      index += 1;
      continue;
    }
    const removed = [];
    const added = [];
    while (index < ops.length && ops[index].op !== 'same') {
      if (ops[index].op === 'del') removed.push(ops[index].a);
      else added.push(ops[index].b);
      index += 1;
    }
    for (let k = 0; k < Math.max(removed.length, added.length); k += 1) {
      const row = { kind: 'change' };
      if (k < removed.length) {
        lineA += 1;
        row.a = removed[k];
        row.numberA = lineA;
      }
      if (k < added.length) {
        lineB += 1;
        row.b = added[k];
        row.numberB = lineB;
      }
      rows.push(row);
    }
  }
  return rows;
}

function cells(text, number, mark) {
  if (text === undefined) return [h('td', { class: 'num' }), h('td', { class: 'line empty' })];
  return [
    h('td', { class: 'num' }, String(number)),
    h('td', { class: `line ${mark || ''}` }, mark ? h('span', { class: 'visually-hidden' },
      mark === 'del' ? 'removed: ' : 'added: ') : null, text),
  ];
}

/** A two-column table comparing `left` and `right` (any JSON values), with a count of changes. */
export function sideBySide(left, right, leftLabel, rightLabel) {
  const rows = pairRows(lineDiff(linesOf(left), linesOf(right)));
  const changed = rows.filter((row) => row.kind === 'change').length;
  return h('div', { class: 'diff' },
    h('p', { class: 'diff-summary' }, changed === 0 ? 'No differences.'
      : `${changed} changed line${changed === 1 ? '' : 's'}.`),
    h('div', { class: 'table-scroll' }, h('table', { class: 'diff-table' },
      h('caption', { class: 'visually-hidden' }, `${leftLabel} compared with ${rightLabel}`),
      // A fixed layout takes its widths from here: narrow line numbers, two equal halves.
      h('colgroup', {}, h('col', { class: 'num-col' }), h('col', {}), h('col', { class: 'num-col' }), h('col', {})),
      h('thead', {}, h('tr', {}, h('th', { colspan: '2', scope: 'colgroup' }, leftLabel),
        h('th', { colspan: '2', scope: 'colgroup' }, rightLabel))),
      h('tbody', {}, rows.map((row) => h('tr', { class: row.kind },
        cells(row.a, row.numberA, row.kind === 'change' ? 'del' : ''),
        cells(row.b, row.numberB, row.kind === 'change' ? 'add' : '')))))));
}
