// Jobs: upload a training file, start a fine-tuning job on it (supervised,
// preference methods, or reinforcement with a grader), watch its events and
// curves, cancel it; and the reports and manifests of the data pipelines
// (`whet data prepare`) under the server's data folder. Jobs go through
// OpenAI's fine-tuning API as `whet serve` implements it (docs/serve.md,
// "Fine-tuning jobs"); pipelines through /v1/data/pipelines.
import { api, listAll } from './api.js';
import { LineChart, smoothingControl } from './charts.js';
import { h, clear, table, num, when, bytes, badge, errorBox, section, guarded } from './ui.js';

const FINAL = ['succeeded', 'failed', 'cancelled'];
const METHODS = ['supervised', 'full', 'dpo', 'simpo', 'orpo', 'kto', 'reward', 'reinforcement'];
// What a reinforcement (GRPO) job's grader looks like: OpenAI's grader objects (docs/serve.md).
const GRADER_EXAMPLE = '{"type": "text_similarity", "name": "close", "input": "{{sample.output_text}}", "reference": "{{item.answer}}", "evaluation_metric": "fuzzy_match"}';
const POLL_MS = 2000;

function uploadForm(onUploaded) {
  const input = h('input', { type: 'file', id: 'upload-file', accept: '.jsonl,.json,application/jsonl' });
  const result = h('div', { id: 'upload-result' });
  const upload = async (event) => {
    event.preventDefault();
    clear(result);
    if (!input.files.length) return;
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', input.files[0]);
    try {
      const file = await api('/v1/files', { method: 'POST', form });
      result.append(h('span', { class: 'note' }, `uploaded ${file.filename} as ${file.id}`));
      input.value = '';
      onUploaded();
    } catch (error) {
      result.append(errorBox(error));  // the server's line-numbered complaints about the file
    }
  };
  return h('form', { class: 'inline', onsubmit: upload }, input, h('button', { id: 'upload', type: 'submit' }, 'Upload'), result);
}

function jobForm(models, files, onCreated) {
  const options = (list, blank) => [blank ? h('option', { value: '' }, blank) : null, ...list.map(([value, label]) => h('option', { value }, label))];
  const fileChoices = files.map((f) => [f.id, `${f.filename} (${f.id})`]);
  const model = h('select', { id: 'job-model' }, options(models.map((m) => [m, m])));
  const training = h('select', { id: 'job-training-file' }, options(fileChoices));
  const validation = h('select', { id: 'job-validation-file' }, options(fileChoices, 'none'));
  const method = h('select', { id: 'job-method' }, options(METHODS.map((m) => [m, m])));
  const epochs = h('input', { id: 'job-epochs', placeholder: 'auto', size: '5' });
  const multiplier = h('input', { id: 'job-lr-multiplier', placeholder: 'auto', size: '5' });
  const suffix = h('input', { id: 'job-suffix', placeholder: 'optional', size: '12' });
  const extra = h('textarea', { id: 'job-hyperparameters', rows: '2', placeholder: '{"max_steps": 40, "lora_r": 8}  (more hyperparameters, JSON)' });
  // A reinforcement job trains on prompts, scored by a grader, with no validation file.
  const grader = h('textarea', { id: 'job-grader', rows: '3', placeholder: GRADER_EXAMPLE });
  const graderField = h('label', { hidden: true }, 'grader (JSON; reinforcement trains on a prompts file)', grader);
  method.addEventListener('change', () => {
    const reinforcement = method.value === 'reinforcement';
    graderField.hidden = !reinforcement;
    validation.disabled = reinforcement;
    if (reinforcement) validation.value = '';
  });
  const result = h('div');
  const create = async (event) => {
    event.preventDefault();
    clear(result);
    try {
      const hyperparameters = extra.value.trim() ? JSON.parse(extra.value) : {};
      if (epochs.value.trim()) hyperparameters.n_epochs = Number(epochs.value);
      if (multiplier.value.trim()) hyperparameters.learning_rate_multiplier = Number(multiplier.value);
      const body = { model: model.value, training_file: training.value, hyperparameters, method: { type: method.value } };
      if (method.value === 'reinforcement') {
        if (!grader.value.trim()) throw new Error('A reinforcement job needs a grader: it scores the sampled completions.');
        body.method.reinforcement = { grader: JSON.parse(grader.value) };
      }
      if (validation.value) body.validation_file = validation.value;
      if (suffix.value.trim()) body.suffix = suffix.value.trim();
      const job = await api('/v1/fine_tuning/jobs', { method: 'POST', json: body });
      onCreated(job);
    } catch (error) {
      result.append(errorBox(error));
    }
  };
  const field = (label, input) => h('label', {}, label, input);
  return h('form', { class: 'grid-form', id: 'job-form', onsubmit: create },
    field('base model', model), field('training file', training), field('validation file', validation),
    field('method', method), field('epochs', epochs), field('learning-rate multiplier', multiplier), field('suffix', suffix),
    field('hyperparameters', extra), graderField, h('button', { type: 'submit', id: 'job-create' }, 'Start job'), result);
}

function jobsTable(jobs) {
  return table(['job', 'status', 'method', 'model', 'training file', 'created', 'fine-tuned model'],
    jobs.map((j) => [h('a', { href: `#/jobs/${j.id}` }, j.id), badge(j.status), j.method.type, j.model, j.training_file,
      when(j.created_at), j.fine_tuned_model || '']), { id: 'jobs' });
}

function filesTable(files) {
  return table(['file', 'name', 'size', 'uploaded'],
    files.map((f) => [f.id, f.filename, bytes(f.bytes), when(f.created_at)]), { id: 'files' });
}

// --- Data pipelines: `whet data prepare` output folders under the data folder.

function pipelineQuery(path) {
  return `path=${encodeURIComponent(path)}`;
}

function stagesTable(stages) {
  return table(['stage', 'in', 'out', 'dropped', 'changed', 'added'],
    stages.map((st) => [st.stage, st.in, st.out, st.dropped, st.changed, st.added]), { class: 'pipeline-stages' });
}

// Why records were dropped, by stage and reason, as the manifest counts them.
function dropReasons(manifest) {
  const rows = [];
  for (const st of manifest.stages || []) for (const [reason, n] of Object.entries(st.dropped || {})) rows.push([st.stage, reason, n]);
  return rows.length ? table(['stage', 'dropped because', 'records'], rows, { class: 'facts' }) : '';
}

// One folder opened: its stages, the account of every record (trace.jsonl), its outputs, or its report.
async function showPipeline(box, path, what) {
  clear(box, h('p', { class: 'note' }, `loading ${path}…`));
  try {
    if (what === 'report') {
      const html = await api(`/v1/data/pipelines/report?${pipelineQuery(path)}`);
      // Sandboxed: the report quotes the records it dropped, and none of it may run here.
      clear(box, h('h3', {}, `${path}/report.html`), h('iframe', { id: 'pipeline-report', class: 'report', sandbox: '', srcdoc: html }));
      return;
    }
    const p = await api(`/v1/data/pipelines/manifest?${pipelineQuery(path)}`);
    const trace = p.trace;
    clear(box, h('h3', {}, `${path}/manifest.json`), h('div', { id: 'pipeline-manifest' },
      h('p', {}, `${p.records_in} records in, ${p.records_out} written; seed ${p.seed}; ${p.inputs} input file(s); ${p.leaks} leak(s).`),
      stagesTable(p.stages), dropReasons(p.manifest),
      trace ? [h('h3', {}, `Every record (trace.jsonl): ${trace.records}`),
        table(['fate', 'records'], Object.entries(trace.fates).map(([fate, n]) => [fate, n]), { class: 'facts', id: 'pipeline-fates' }),
        Object.keys(trace.dropped).length ? table(['dropped at stage', 'records'], Object.entries(trace.dropped).map(([stage, n]) => [stage, n]), { class: 'facts', id: 'pipeline-dropped' }) : '',
        trace.bad_lines ? h('p', { class: 'error' }, `${trace.bad_lines} line(s) of trace.jsonl do not read, the first is line ${trace.first_bad_line}`) : '']
        : h('p', { class: 'note' }, 'No trace.jsonl in this folder.'),
      h('h3', {}, 'Outputs'),
      table(['file', 'records', 'size', 'XXH3-64'], p.outputs.map((o) => [o.file, o.records, bytes(o.bytes), o.xxh3_64]), { class: 'facts' })));
  } catch (error) {
    clear(box, errorBox(error));
  }
}

function pipelinesTable(pipelines, detail) {
  const rows = pipelines.map((p) => {
    const open = (what) => h('button', { type: 'button', class: `open-${what}`, disabled: what === 'report' && !p.has_report, onclick: () => showPipeline(detail, p.path, what) },
      what === 'report' ? 'report.html' : 'manifest');
    const stages = p.error ? h('span', { class: 'error' }, p.error)
      : (p.stages || []).filter((st) => st.in !== st.out || st.dropped || st.added).map((st) => `${st.stage} ${st.in}→${st.out}`).join(', ');
    return h('tr', { dataset: { path: p.path } }, h('td', {}, p.path), h('td', {}, p.records_in ?? ''), h('td', {}, p.records_out ?? ''),
      h('td', {}, stages), h('td', {}, p.leaks ?? ''), h('td', {}, when(p.updated_at)), h('td', {}, open('manifest'), ' ', open('report')));
  });
  return h('table', { id: 'pipelines' },
    h('thead', {}, h('tr', {}, ['folder', 'records in', 'written', 'stages that changed the count', 'leaks', 'prepared', ''].map((c) => h('th', {}, c)))),
    h('tbody', {}, rows));
}

// The pipelines listed under DATA (all of them, or those that wrote the uploaded `file`).
async function pipelinesSection(title, file = null) {
  const detail = h('div', { class: 'pipeline-detail' });
  const list = (await api(`/v1/data/pipelines${file ? `?file=${encodeURIComponent(file)}` : ''}`)).data;
  if (file && !list.length) return null;
  return section(title,
    list.length ? [pipelinesTable(list, detail), detail]
      : h('p', { class: 'note' }, 'No pipeline outputs under the data folder: `whet data prepare` with an output_dir inside it writes one.'));
}

async function renderList(view) {
  const [models, files] = await Promise.all([api('/v1/models'), api('/v1/files')]);
  // A job trains on a served base: not an adapter (which has a parent), nor a registry alias (models:/NAME@ALIAS).
  const bases = models.data.filter((m) => !m.parent && !m.id.startsWith('models:/')).map((m) => m.id);
  const filesBox = h('div', {}, filesTable(files.data));
  const formBox = h('div', {}, jobForm(bases, files.data, (job) => { location.hash = `#/jobs/${job.id}`; }));
  const jobsBox = h('div');
  const pipelinesBox = h('div');
  const refreshFiles = async () => {
    const fresh = await api('/v1/files');
    clear(filesBox, filesTable(fresh.data));
    clear(formBox, jobForm(bases, fresh.data, (job) => { location.hash = `#/jobs/${job.id}`; }));
  };
  const refreshJobs = async () => {
    try { clear(jobsBox, jobsTable(await listAll('/v1/fine_tuning/jobs'))); } catch (error) { clear(jobsBox, errorBox(error)); }
  };
  view.append(
    section('Training files', uploadForm(refreshFiles), filesBox),
    section('New fine-tuning job', formBox),
    section('Jobs', jobsBox),
    pipelinesBox);
  const pipelines = await guarded(pipelinesBox, () => pipelinesSection('Data pipeline reports and manifests'));
  if (pipelines) pipelinesBox.append(pipelines);
  await refreshJobs();
  const timer = setInterval(refreshJobs, POLL_MS * 2);
  return () => clearInterval(timer);
}

// The curves of a job from its `metrics` events: losses on one chart, the learning rate on another.
function jobCurves(events) {
  const series = {};
  for (const e of events) {
    if (e.type !== 'metrics' || !e.data) continue;
    for (const [name, value] of Object.entries(e.data)) {
      if (['step', 'total_steps', 'epoch'].includes(name) || typeof value !== 'number') continue;
      (series[name] = series[name] || []).push({ x: e.data.step, y: value });
    }
  }
  for (const points of Object.values(series)) points.sort((a, b) => a.x - b.x);
  return series;
}

async function renderJob(view, id) {
  const head = h('div');
  const loss = new LineChart('loss');
  const lr = new LineChart('learning rate');
  const log = h('pre', { class: 'events', id: 'job-events' });
  const events = new Map();
  const draw = () => {
    const curves = jobCurves([...events.values()]);
    loss.setSeries(Object.entries(curves).filter(([n]) => n.includes('loss')).map(([label, points]) => ({ label, points })));
    lr.setSeries(curves.learning_rate ? [{ label: 'learning rate', points: curves.learning_rate }] : []);
  };
  view.append(h('p', {}, h('a', { href: '#/jobs' }, '← all jobs')), head,
    h('div', { class: 'toolbar' }, smoothingControl(draw)),
    h('div', { class: 'charts' }, loss.element, lr.element), section('Events', log));
  let timer = null;
  const refresh = async () => {
    try {
      const [job, page] = await Promise.all([api(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}`),
        api(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events?limit=100`)]);
      const fresh = page.data.filter((e) => !events.has(e.id));
      if (events.size === 0 && page.has_more) for (const e of await listAll(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events`)) events.set(e.id, e);
      for (const e of fresh) events.set(e.id, e);
      const ordered = [...events.values()].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
      log.textContent = ordered.map((e) => `${when(e.created_at)}  ${e.message}`).join('\n');
      draw();
      clear(head, jobHeader(job, refresh));
      if (FINAL.includes(job.status)) { clearInterval(timer); timer = null; }
    } catch (error) {
      clear(head, errorBox(error));
    }
  };
  await refresh();
  if (!head.querySelector('[data-status].final')) timer = setInterval(refresh, POLL_MS);
  // The pipeline whose output the training file is, when one under the data folder wrote it.
  const job = await api(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
  const origin = await guarded(view, () => pipelinesSection('Training file prepared by', job.training_file));
  if (origin) view.append(origin);
  return () => { if (timer) clearInterval(timer); loss.destroy(); lr.destroy(); };
}

function jobHeader(job, refresh) {
  const final = FINAL.includes(job.status);
  const cancel = h('button', {
    id: 'job-cancel', disabled: final,
    onclick: async () => {
      try { await api(`/v1/fine_tuning/jobs/${encodeURIComponent(job.id)}/cancel`, { method: 'POST' }); } catch (error) { cancel.after(errorBox(error)); }
      refresh();
    },
  }, 'Cancel job');
  const hyper = Object.entries(job.hyperparameters || {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : num(v)]);
  const facts = [['method', job.method.type], ['base model', job.model], ['training file', job.training_file],
    ['validation file', job.validation_file || ''], ['fine-tuned model', job.fine_tuned_model || ''], ['created', when(job.created_at)],
    ['finished', when(job.finished_at)]];
  if (job.error) facts.push(['error', job.error.message || JSON.stringify(job.error)]);
  if (job.gate) facts.push(['forgetting gate', job.gate.passed ? 'passed' : 'FAILED']);
  const rl = job.method[job.method.type];
  if (rl && rl.grader) facts.push(['grader', JSON.stringify(rl.grader)]);
  return h('div', {},
    h('h2', {}, 'Job ', job.id, ' ', h('span', { dataset: { status: job.status }, class: final ? 'final' : '' }, badge(job.status)), ' ', cancel),
    h('div', { class: 'columns' }, table(['', ''], facts, { class: 'facts' }), table(['hyperparameter', 'value'], hyper, { class: 'facts' })));
}

export async function render(view, { id }) {
  return id ? renderJob(view, id) : renderList(view);
}
