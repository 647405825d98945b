// Registry: named models, their numbered versions and aliases (MLflow's
// champion / challenger); promote a version to an alias and roll an alias back.
// Each change is one call to the registry API, which makes it atomic and logs it;
// "models:/NAME@ALIAS" is then what clients put in the OpenAI `model` field.
import { api } from './api.js';
import { h, clear, table, when, errorBox, section } from './ui.js';

function gateText(gate) {
  if (!gate) return '';
  if (typeof gate === 'object') return gate.passed === false ? 'FAILED' : 'passed';
  return String(gate);
}

function modelSection(model, refresh) {
  const name = encodeURIComponent(model.name);
  const aliases = Object.entries(model.aliases || {}).sort();
  const note = h('div', { class: 'note' });
  const act = async (path, json) => {
    clear(note);
    try {
      await api(`/v1/registry/models/${name}/${path}`, { method: 'POST', json });
      await refresh();
    } catch (error) {
      note.append(errorBox(error));
    }
  };
  const aliasRows = aliases.map(([alias, version]) => [
    alias, String(version), h('code', {}, `models:/${model.name}@${alias}`),
    h('button', { class: 'rollback', dataset: { model: model.name, alias }, onclick: () => act('rollback', { alias }) }, 'Roll back')]);
  const versionRows = (model.versions || []).slice().sort((a, b) => b.version - a.version).map((v) => {
    const alias = h('input', { class: 'promote-alias', list: `aliases-${model.name}`, value: 'champion', size: '10' });
    const reason = h('input', { class: 'promote-reason', placeholder: 'reason', size: '14' });
    const holds = aliases.filter(([, version]) => version === v.version).map(([a]) => a).join(', ');
    return [String(v.version), v.kind, v.base_model || '', v.run_id ? h('a', { href: `#/runs/${encodeURIComponent(v.run_id)}` }, v.run_id) : '',
      gateText(v.gate), holds, when(v.created_at),
      h('span', { class: 'promote' }, alias, reason,
        h('button', { class: 'promote-button', dataset: { model: model.name, version: String(v.version) }, onclick: () => act('aliases', { alias: alias.value.trim(), version: v.version, reason: reason.value.trim() }) }, 'Promote'))];
  });
  return h('section', { class: 'registered-model', dataset: { model: model.name } },
    h('h2', {}, model.name), model.description ? h('p', {}, model.description) : null,
    h('datalist', { id: `aliases-${model.name}` }, ['champion', 'challenger', ...aliases.map(([a]) => a)].map((a) => h('option', { value: a }))),
    h('h3', {}, 'Aliases'),
    aliasRows.length ? table(['alias', 'version', 'model field', ''], aliasRows, { class: 'aliases' }) : h('p', { class: 'note' }, 'No aliases yet.'),
    h('h3', {}, 'Versions'),
    table(['version', 'kind', 'base model', 'run', 'gate', 'aliases', 'registered', 'promote to alias'], versionRows, { class: 'versions' }),
    note);
}

export async function render(view) {
  const box = h('div', { id: 'registry' });
  view.append(box);
  const refresh = async () => {
    try {
      const models = (await api('/v1/registry/models')).data;
      clear(box, models.length ? models.map((m) => modelSection(m, refresh))
        : section('Registry', h('p', { class: 'note' }, 'No registered models: `whet registry register` adds one.')));
    } catch (error) {
      clear(box, errorBox(error));
    }
  };
  await refresh();
}
