// The dashboard's shell: hash routes (#/runs, #/runs/ID, #/jobs/ID, ...) to
// pages. Each page renders into the view and may return a function that stops
// what it started (streams, timers) when the user leaves it.
import { startSession } from './api.js';
import { errorBox } from './ui.js';
import * as runs from './runs.js';
import * as compare from './compare.js';
import * as evaluation from './evaluation.js';
import * as playground from './playground.js';
import * as jobs from './jobs.js';
import * as registry from './registry.js';
import * as monitoring from './monitoring.js';
import * as loops from './loops.js';
import * as humanEval from './humaneval.js';

const PAGES = { runs, compare, evaluation, playground, jobs, registry, loops, monitoring, 'human-eval': humanEval };
let leave = null;
let generation = 0;  // a page still loading when the user moves on is stopped as it arrives

// '#/runs/run-1?x=y' → {page: 'runs', id: 'run-1', query: URLSearchParams}
function parseHash() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [page, ...rest] = path.split('/');
  return { page: page || 'runs', id: rest.length ? decodeURIComponent(rest.join('/')) : null, query: new URLSearchParams(query) };
}

async function route() {
  if (leave) { leave(); leave = null; }
  const mine = ++generation;
  const { page, id, query } = parseHash();
  const view = document.getElementById('view');
  view.replaceChildren();
  view.dataset.page = page;
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.getAttribute('href') === `#/${page}`);
  const module = PAGES[page];
  if (!module) {
    view.append(errorBox(`No page '${page}'`));
    return;
  }
  try {
    const stop = (await module.render(view, { id, query })) || null;
    if (mine === generation) leave = stop;
    else if (stop) stop();
  } catch (error) {
    view.append(errorBox(error));
  }
}

window.addEventListener('hashchange', route);
startSession().then(route, (error) => document.getElementById('view').append(errorBox(error)));
