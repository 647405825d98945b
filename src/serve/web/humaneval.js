// Human evaluation (docs/eval.md, "Human evaluation"): sessions that put every
// model's answer to a task file's prompts before raters two at a time, blind
// (labelled A and B in an order the server draws per item and rater), and what
// their ratings say: win rates with bootstrap intervals, Bradley–Terry scores,
// Cohen's κ between raters, and the preference pairs to train on.
import { api, listAll } from './api.js';
import { h, clear, table, num, when, badge, errorBox, section } from './ui.js';

const RATER = 'whet.rater';  // the rater's name, remembered on this browser
const POLL_MS = 1500;
const CHOICES = [['A', 'A is better'], ['B', 'B is better'], ['tie', 'Tie'], ['both_bad', 'Both bad']];

function sessionPath(id, rest = '') {
  return `/v1/human_eval/sessions/${encodeURIComponent(id)}${rest}`;
}

function progressText(s) {
  const { answers, answers_total: total } = s.progress;
  return s.status === 'generating' ? `answers ${answers} of ${total}` : `${s.items} items, ${s.ratings_received} ratings`;
}

function createForm(models, files) {
  const name = h('input', { id: 'he-name', placeholder: 'optional', size: '16' });
  const task = h('input', { id: 'he-task', list: 'he-task-files', size: '28', placeholder: 'tasks/prompts.jsonl or file-…', required: true });
  const fileList = h('datalist', { id: 'he-task-files' }, files.map((f) => h('option', { value: f.id }, f.filename)));
  const picks = h('div', { id: 'he-models', class: 'picks' }, models.map((m) =>
    h('label', {}, h('input', { type: 'checkbox', class: 'he-model', value: m }), ' ', m)));
  const extra = h('input', { id: 'he-extra-models', placeholder: 'models:/NAME/VERSION, …', size: '28' });
  const maxTokens = h('input', { id: 'he-max-tokens', placeholder: 'auto', size: '5' });
  const seed = h('input', { id: 'he-seed', placeholder: '0', size: '5' });
  const result = h('div');
  const create = async (event) => {
    event.preventDefault();
    clear(result);
    const chosen = [...picks.querySelectorAll('input:checked')].map((i) => i.value)
      .concat(extra.value.split(',').map((m) => m.trim()).filter(Boolean));
    const body = { task: task.value.trim(), models: chosen };
    if (name.value.trim()) body.name = name.value.trim();
    if (maxTokens.value.trim()) body.max_tokens = Number(maxTokens.value);
    if (seed.value.trim()) body.seed = Number(seed.value);
    try {
      const session = await api('/v1/human_eval/sessions', { method: 'POST', json: body });
      location.hash = `#/human-eval/${session.id}`;
    } catch (error) {
      result.append(errorBox(error));  // names the field: task, models[i], max_tokens, ...
    }
  };
  const field = (label, input) => h('label', {}, label, input);
  return h('form', { class: 'grid-form', id: 'he-form', onsubmit: create },
    field('task file (prompts)', h('span', {}, task, fileList)), field('name', name),
    field('max tokens per answer', maxTokens), field('seed (order, sampling, bootstrap)', seed),
    field('models to compare (two or more)', picks), field('more models (registry URIs)', extra),
    h('button', { type: 'submit', id: 'he-create' }, 'Create session'), result);
}

function sessionsTable(sessions) {
  return table(['session', 'name', 'task', 'models', 'status', 'progress', 'created'],
    sessions.map((s) => [h('a', { href: `#/human-eval/${s.id}` }, s.id), s.name, s.task, s.models.join(', '),
      badge(s.status), progressText(s), when(s.created_at)]), { id: 'he-sessions' });
}

async function renderList(view) {
  const [models, files, sessions] = await Promise.all([api('/v1/models'), api('/v1/files'), listAll('/v1/human_eval/sessions')]);
  view.append(
    section('New blind comparison', h('p', { class: 'note' },
      'Every model answers every prompt of the task file; raters then see two answers at a time as A and B, never the models. ',
      'A registry alias (models:/NAME@ALIAS) is pinned to the version it names now.'),
    createForm(models.data.map((m) => m.id), files.data)),
    section('Sessions', sessions.length ? sessionsTable(sessions) : h('p', { class: 'note' }, 'No sessions yet.')));
}

// A stored prompt: raw text, or the conversation's turns.
function promptView(prompt) {
  if (typeof prompt === 'string') return h('div', { class: 'transcript' }, h('div', { class: 'user' }, prompt));
  return h('div', { class: 'transcript' }, prompt.map((m) => h('div', { class: m.role === 'assistant' ? 'assistant' : 'user' },
    m.role === 'user' ? '' : h('span', { class: 'note' }, `${m.role}: `), m.content)));
}

// The rater's next item, rated with one click; the next comes when the rating is stored.
function ratingPane(session, rater, onRated) {
  const box = h('div', { id: 'he-item' });
  const load = async () => {
    let item;
    try {
      item = await api(sessionPath(session.id, `/next?rater=${encodeURIComponent(rater)}`));
    } catch (error) {
      clear(box, errorBox(error));
      return;
    }
    if (item.done) {
      clear(box, h('p', { id: 'he-done', class: 'note' }, `${rater} has rated all ${item.total} items. Thank you.`));
      return;
    }
    const comment = h('textarea', { id: 'he-comment', rows: '2', placeholder: 'Comment (optional)' });
    const status = h('div');
    const rate = async (choice) => {
      for (const b of box.querySelectorAll('.he-choice')) b.disabled = true;
      try {
        await api(sessionPath(session.id, '/ratings'), {
          method: 'POST', json: { item_id: item.item_id, rater, choice, comment: comment.value.trim() || null },
        });
        onRated();
        await load();
      } catch (error) {
        status.append(errorBox(error));
        for (const b of box.querySelectorAll('.he-choice')) b.disabled = false;
      }
    };
    clear(box,
      h('p', { class: 'note', id: 'he-position', dataset: { itemId: item.item_id } }, `Item ${item.rated + 1} of ${item.total} for ${rater}`),
      promptView(item.prompt),
      h('div', { class: 'sides' }, item.answers.map((a) => h('div', { class: 'answer', dataset: { slot: a.slot } },
        h('h3', {}, `Answer ${a.slot}`), h('div', { class: 'transcript' }, h('div', { class: 'assistant' }, h('div', { class: 'text' }, a.text)))))),
      h('div', { class: 'verdict' }, CHOICES.map(([choice, label]) =>
        h('button', { class: 'he-choice', id: `he-choice-${choice}`, type: 'button', onclick: () => rate(choice) }, label))),
      comment, status);
  };
  load();
  return box;
}

function interval(pair) {
  return pair.interval ? h('span', { class: 'interval' }, ` [${num(pair.interval[0])}, ${num(pair.interval[1])}]`) : '';
}

function resultsView(results) {
  const parts = [];
  parts.push(h('p', { class: 'note' }, `${results.ratings} ratings by ${results.raters.length} rater(s); `,
    `intervals: ${Math.round(results.bootstrap.level * 100)}% bootstrap over items, ${results.bootstrap.resamples} resamples.`));
  parts.push(table(['models (first v second)', 'rated items', 'first wins', 'second wins', 'ties', 'both bad', 'win rate of the first'],
    results.pairs.map((p) => [`${p.models[0]} v ${p.models[1]}`, p.rated_items, p.wins[0], p.wins[1], p.ties, p.both_bad,
      h('span', {}, p.win_rate === null ? 'no ratings' : num(p.win_rate), interval(p))]), { id: 'he-pairs' }));
  const bt = results.bradley_terry;
  if (results.models.length > 2) {
    parts.push(h('h3', {}, 'Bradley–Terry scores'));
    if (bt.problem) parts.push(h('p', { class: 'note' }, bt.problem));
    parts.push(table(['model', 'score', 'comparisons'], bt.models.map((m) => [m.model, m.score === null ? '—' : num(m.score), m.comparisons]),
      { id: 'he-bradley-terry' }));
    parts.push(h('p', { class: 'note' }, bt.normalisation));
  }
  parts.push(h('h3', {}, "Agreement between raters (Cohen's κ)"));
  parts.push(results.agreement.pairs.length
    ? table(['raters', 'items both rated', 'observed agreement', 'κ'], results.agreement.pairs.map((p) =>
      [p.raters.join(' and '), p.shared_items, num(p.observed_agreement), p.kappa === null ? '—' : num(p.kappa)]), { id: 'he-agreement' })
    : h('p', { class: 'note', id: 'he-agreement' }, 'Two raters must rate the same items for an agreement.'));
  return parts;
}

// Downloads the preference pairs (GET .../export) as a file.
function exportButton(session) {
  const note = h('span', { class: 'note', id: 'he-export-note' });
  const button = h('button', {
    id: 'he-export', type: 'button',
    onclick: async () => {
      note.replaceChildren();
      try {
        const response = await api(sessionPath(session.id, '/export'), { raw: true });
        const text = await response.text();
        const link = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/jsonl' })), download: `${session.id}.jsonl`, id: 'he-export-link' },
          `${session.id}.jsonl`);
        note.append(`${response.headers.get('X-Whet-Pairs')} preference pairs; ratings that are no pair (ties, both bad, ...): ${response.headers.get('X-Whet-Skipped')}. `, link);
        link.click();
      } catch (error) {
        note.append(errorBox(error));
      }
    },
  }, 'Export preference pairs');
  return h('div', { class: 'toolbar' }, button, note);
}

async function renderSession(view, id) {
  const head = h('div');
  const rateBox = h('div');
  const resultsBox = h('div', { id: 'he-results' });
  // Closed at first: the results name the models, which a rater should not see before rating.
  const results = h('details', { id: 'he-results-details' }, h('summary', {}, 'Results (they name the models: open them after rating)'), resultsBox);
  view.append(h('p', {}, h('a', { href: '#/human-eval' }, '← all sessions')), head,
    section('Rate', rateBox), section('Results', results));
  let session = null;
  let timer = null;
  const refreshResults = async () => {
    try { clear(resultsBox, resultsView(await api(sessionPath(id, '/results'))), exportButton(session)); } catch (error) { clear(resultsBox, errorBox(error)); }
  };
  const startRating = () => {
    const rater = h('input', { id: 'he-rater', placeholder: 'your name', value: localStorage.getItem(RATER) || '' });
    const pane = h('div');
    const begin = (event) => {
      event.preventDefault();
      const name = rater.value.trim();
      if (!name) return;
      localStorage.setItem(RATER, name);
      clear(pane, ratingPane(session, name, refreshResults));
    };
    clear(rateBox, h('form', { class: 'inline', onsubmit: begin }, h('label', {}, 'Rater ', rater),
      h('button', { id: 'he-start', type: 'submit' }, 'Start rating')), pane);
  };
  const refresh = async () => {
    session = await api(sessionPath(id));
    clear(head, h('h2', {}, session.name, ' ', h('span', { id: 'he-status', dataset: { status: session.status } }, badge(session.status))),
      table(['', ''], [['session', session.id], ['task', session.task], ['prompts', session.prompts], ['progress', progressText(session)],
        ['models', `${session.models.length}, named in the results`], ['created', when(session.created_at)]].concat(session.error ? [['error', session.error]] : []),
      { class: 'facts' }));
    if (session.status === 'generating') {
      clear(rateBox, h('p', { class: 'note' }, 'The models are answering; rating starts when every answer is made.'));
      return false;
    }
    if (session.status === 'ready') {
      startRating();
      await refreshResults();
    }
    return true;
  };
  if (!(await refresh())) {
    timer = setInterval(async () => {
      try {
        if (await refresh()) { clearInterval(timer); timer = null; }
      } catch (error) {
        clear(head, errorBox(error));
      }
    }, POLL_MS);
  }
  return () => { if (timer) clearInterval(timer); };
}

export async function render(view, { id }) {
  return id ? renderSession(view, id) : renderList(view);
}
