// diff.js: what changed between two versions of a text, word by word — the
// longest common subsequence of the two texts' words (no library), shown
// with <ins> and <del>. Each change also says what it is in words a screen
// reader reads ("tilføjet", "slettet", visually hidden), and ins/del are
// underlined and struck through, so colour is never the only sign.

import { h } from '../dom.js';

// Beyond this many cells the table of the LCS would cost too much: what
// is between the common start and end is then shown as replaced whole.
const MAX_CELLS = 4000000;

/** The words and the white space between them, in order. */
export function tokens(text) {
  return String(text || '').match(/\s+|[^\s]+/g) || [];
}

/**
 * The edit script from a to b (arrays of tokens): a list of
 * {op: 'eq'|'del'|'ins', text} with neighbours of the same op merged.
 * White space between two changes of the same kind joins them.
 */
export function diffTokens(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out = [];
  const push = (op, text) => {
    const last = out[out.length - 1];
    if (last && last.op === op) last.text += text;
    else out.push({ op, text });
  };
  for (let i = 0; i < start; i++) push('eq', a[i]);
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  const n = x.length;
  const m = y.length;
  if (n && m && (n + 1) * (m + 1) <= MAX_CELLS) {
    // lcs[i][j]: the LCS of x[i..] and y[j..], in one flat table
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1
          : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) {
        push('eq', x[i]);
        i++;
        j++;
      } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
        push('del', x[i++]);
      } else {
        push('ins', y[j++]);
      }
    }
    while (i < n) push('del', x[i++]);
    while (j < m) push('ins', y[j++]);
  } else {
    if (n) push('del', x.join(''));
    if (m) push('ins', y.join(''));
  }
  for (let i = endA; i < a.length; i++) push('eq', a[i]);
  return tidy(out);
}

/**
 * One deletion and one insertion per run of changes: white space between
 * two changes joins them ("a b" → "c d" is "a b" deleted and "c d"
 * inserted, not four marks).
 */
function tidy(ops) {
  const out = [];
  let k = 0;
  while (k < ops.length) {
    if (ops[k].op === 'eq') {
      out.push(ops[k]);
      k++;
      continue;
    }
    let del = '';
    let ins = '';
    let j = k;
    for (; j < ops.length; j++) {
      const o = ops[j];
      if (o.op === 'del') del += o.text;
      else if (o.op === 'ins') ins += o.text;
      else if (/^\s+$/.test(o.text) && j + 1 < ops.length && ops[j + 1].op !== 'eq') {
        del += o.text;
        ins += o.text;
      } else break;
    }
    if (del.trim()) out.push({ op: 'del', text: del });
    if (ins.trim()) out.push({ op: 'ins', text: ins });
    else if (ins) out.push({ op: 'eq', text: ins });
    k = j;
  }
  return out;
}

/** The word diff of two texts. */
export function diffWords(before, after) {
  return diffTokens(tokens(before), tokens(after));
}

/** True when the two texts differ in more than white space. */
export function changed(before, after) {
  return tokens(before).filter((t) => !/^\s+$/.test(t)).join(' ')
    !== tokens(after).filter((t) => !/^\s+$/.test(t)).join(' ');
}

/**
 * The diff of two texts as DOM: a <p class="diff"> per line of the new
 * text's layout, with <ins>/<del> carrying a visually hidden "tilføjet:" /
 * "slettet:" and an end mark, so a screen reader hears where each ends.
 */
export function renderDiff(before, after) {
  const ops = diffWords(before, after);
  const box = h('div', { class: 'diff' });
  let line = h('p', { class: 'diff__line' });
  const flush = () => {
    box.append(line);
    line = h('p', { class: 'diff__line' });
  };
  for (const o of ops) {
    const parts = o.text.split('\n');
    parts.forEach((part, k) => {
      if (k > 0) flush();
      if (!part) return;
      if (o.op === 'eq') {
        line.append(part);
      } else {
        const tag = o.op === 'ins' ? 'ins' : 'del';
        const word = o.op === 'ins' ? 'tilføjet' : 'slettet';
        line.append(h(tag, { class: `diff__${tag}` },
          h('span', { class: 'visually-hidden' }, `[${word}: `), part,
          h('span', { class: 'visually-hidden' }, ']')));
      }
    });
  }
  flush();
  return box;
}

// -- a section's value as the text a reader sees ------------------------------------------

const BLOCK = new Set(['P', 'DIV', 'LI', 'TR', 'DT', 'DD', 'H2', 'H3', 'H4', 'H5', 'TABLE', 'UL', 'OL',
  'SECTION', 'CAPTION', 'THEAD', 'TBODY', 'DL', 'FIELDSET', 'BLOCKQUOTE', 'BR']);

/** The text of a rendered value, one line per block (innerText needs layout; this does not). */
export function textOf(node) {
  let out = '';
  const walk = (n) => {
    if (n.nodeType === 3) {
      out += n.nodeValue.replace(/\s+/g, ' ');
      return;
    }
    if (n.nodeType !== 1) return;
    if (n.classList && n.classList.contains('visually-hidden')) return;
    const block = BLOCK.has(n.tagName);
    if (block && out && !out.endsWith('\n')) out += '\n';
    if (n.tagName === 'TD' || n.tagName === 'TH') {
      if (out && !out.endsWith('\n')) out += ' · ';
    }
    n.childNodes.forEach(walk);
    if (block && out && !out.endsWith('\n')) out += '\n';
  };
  walk(node);
  return out.split('\n').map((l) => l.trim()).filter(Boolean).join('\n');
}
