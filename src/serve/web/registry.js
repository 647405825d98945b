// Registry: named models, their numbered versions and aliases (MLflow's
// champion / challenger), and the log of every change. Register a run's output
// as a version, point an alias at a version (promote), move an alias back
// (roll back). Each is one call to the registry API (docs/registry.md), which
// makes it atomic and logs it; "models:/NAME@ALIAS" is then what clients put in
// the OpenAI `model` field.
import { api } from './api.js';
import { h, clear, table, when, errorBox, section } from './ui.js';

function gateText(gate) {
  if (!gate) return '';
  return gate.passed === false ? h('span', { class: 'flag' }, 'FAILED') : 'passed';
}

function versionText(v) {
  return v === null || v === undefined ? '—' : String(v);
}

// Runs a registry call, then redraws; its error goes into `note`.
function action(note, refresh) {
  return async (path, json) => {
    clear(note);
    try {
      await api(path, { method: 'POST', json });
      await refresh();
    } catch (error) {
      note.append(errorBox(error));
    }
  };
}

function registerForm(runs, refresh) {
  const note = h('div');
  const name = h('input', { id: 'register-name', placeholder: 'support', size: '14', required: true });
  const source = h('input', { id: 'register-source', list: 'run-folders', placeholder: 'a run, adapter or model folder', size: '40', required: true });
  const base = h('input', { id: 'register-base', placeholder: 'optional', size: '20' });
  const description = h('input', { id: 'register-description', placeholder: 'optional', size: '20' });
  const best = h('input', { id: 'register-best', type: 'checkbox' });
  const post = action(note, refresh);
  const submit = (event) => {
    event.preventDefault();
    const body = { source: source.value.trim() };
    if (base.value.trim()) body.base = base.value.trim();
    if (description.value.trim()) body.description = description.value.trim();
    if (best.checked) body.best = true;
    post(`/v1/registry/models/${encodeURIComponent(name.value.trim())}/versions`, body);
  };
  return section('Register a version',
    h('datalist', { id: 'run-folders' }, runs.map((r) => h('option', { value: r.dir }, `${r.name} (${r.status})`))),
    h('form', { class: 'grid-form', id: 'register-form', onsubmit: submit },
      h('label', {}, 'model name', name), h('label', {}, 'from folder', source), h('label', {}, 'base model', base),
      h('label', {}, 'description', description), h('label', {}, h('span', {}, best, ' its best/ checkpoint')),
      h('button', { type: 'submit', id: 'register' }, 'Register'), note));
}

function eventRows(events) {
  return events.slice().reverse().slice(0, 20).map((e) => [when(e.time), e.action, e.alias || '', `${versionText(e.from_version)} → ${versionText(e.to_version)}`, e.reason || '']);
}

function modelSection(model, events, refresh) {
  const name = encodeURIComponent(model.name);
  const aliases = Object.entries(model.aliases || {}).sort();
  const note = h('div', { class: 'note' });
  const post = action(note, refresh);
  const aliasRows = aliases.map(([alias, version]) => [
    alias, String(version), h('code', {}, `models:/${model.name}@${alias}`),
    h('button', { class: 'rollback', dataset: { model: model.name, alias }, onclick: () => post(`/v1/registry/models/${name}/rollback`, { alias, reason: 'rolled back from the dashboard' }) }, 'Roll back')]);
  const versionRows = (model.versions || []).slice().sort((a, b) => b.version - a.version).map((v) => {
    const alias = h('input', { class: 'promote-alias', list: `aliases-${model.name}`, value: 'champion', size: '10' });
    const reason = h('input', { class: 'promote-reason', placeholder: 'reason', size: '14' });
    const force = h('input', { type: 'checkbox', class: 'promote-force', title: 'promote even though the version failed its forgetting gate' });
    const holds = aliases.filter(([, version]) => version === v.version).map(([a]) => a).join(', ');
    const promote = () => {
      const body = { alias: alias.value.trim(), version: v.version, reason: reason.value.trim() || 'promoted from the dashboard' };
      if (force.checked) body.force = true;
      post(`/v1/registry/models/${name}/aliases`, body);
    };
    return [String(v.version), v.kind, v.base_model || '', v.run_id ? h('a', { href: `#/runs/${encodeURIComponent(v.run_id)}` }, v.run_id) : '',
      gateText(v.gate), holds, when(v.created_at),
      h('span', { class: 'promote' }, alias, reason, v.gate && v.gate.passed === false ? h('label', {}, force, 'force') : null,
        h('button', { class: 'promote-button', dataset: { model: model.name, version: String(v.version) }, onclick: promote }, 'Promote'))];
  });
  return h('section', { class: 'registered-model', dataset: { model: model.name } },
    h('h2', {}, model.name, ' ', h('span', { class: 'note' }, `latest version ${model.latest_version}`)),
    model.description ? h('p', {}, model.description) : null,
    h('datalist', { id: `aliases-${model.name}` }, ['champion', 'challenger', ...aliases.map(([a]) => a)].map((a) => h('option', { value: a }))),
    h('h3', {}, 'Aliases'),
    aliasRows.length ? table(['alias', 'version', 'model field', ''], aliasRows, { class: 'aliases' }) : h('p', { class: 'note' }, 'No aliases yet.'),
    h('h3', {}, 'Versions'),
    table(['version', 'kind', 'base model', 'run', 'gate', 'aliases', 'registered', 'promote to alias'], versionRows, { class: 'versions' }),
    note,
    h('h3', {}, 'Log'),
    table(['time', 'action', 'alias', 'version', 'reason'], eventRows(events), { class: 'registry-log' }));
}

export async function render(view) {
  const box = h('div', { id: 'registry' });
  const runs = await api('/v1/runs').then((r) => r.data);
  const refresh = async () => {
    try {
      const models = (await api('/v1/registry/models')).data;
      const details = await Promise.all(models.map((m) => api(`/v1/registry/models/${encodeURIComponent(m.name)}`)));
      clear(box, details.length ? details.map((m) => modelSection(m, m.events || [], refresh))
        : section('Registry', h('p', { class: 'note' }, 'No registered models yet.')));
    } catch (error) {
      clear(box, errorBox(error));
    }
  };
  view.append(box, registerForm(runs, refresh));
  await refresh();
}
