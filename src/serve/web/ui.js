// Small DOM helpers shared by the pages: element building, tables, numbers and times.

// h('div', {class: 'x', onclick: f}, child, ...): children are nodes, strings or arrays of them.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : value);
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

// A table from column titles and rows of cells (nodes or text).
export function table(columns, rows, attributes = {}) {
  return h('table', attributes,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell))))));
}

// Numbers as people read them: 4 significant digits, exponents for the very small.
export function num(value) {
  if (value === null || value === undefined || value === '') return '';
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

export function when(seconds) {
  if (!seconds) return '';
  return new Date(seconds * 1000).toLocaleString();
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}

export function badge(status) {
  return h('span', { class: `badge ${status}` }, status);
}

// A message box for an error from the API or elsewhere.
export function errorBox(error) {
  return h('pre', { class: 'error' }, error && error.message ? error.message : String(error));
}

export function section(title, ...children) {
  return h('section', {}, h('h2', {}, title), children);
}

// Runs work and shows its error in `where` instead of failing silently.
export async function guarded(where, work) {
  try {
    return await work();
  } catch (error) {
    where.append(errorBox(error));
    return undefined;
  }
}
