// Scoring follows lm-evaluation-harness where it defines the measure: a
// choice's log-likelihood is the sum over its tokens given the prompt, and
// acc_norm divides it by the choice's length in bytes. Labels are scored the
// same way, with the end-of-answer token included, so that a label which is
// the beginning of another ("card" and "cards") is not favoured.
#include "eval/evaluate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "data/tokenize_example.h"
#include "data/tokenize_preference.h"
#include "eval/loglikelihood.h"
#include "generate/generator.h"
#include "models/llama_train.h"

namespace whet {
namespace {

// The tokens of a prompt followed by a continuation; the continuation is
// [begin, end): the trained span, whatever the template puts around it.
struct ScoredSequence {
  std::vector<int32_t> ids;
  size_t begin = 0, end = 0;
};

class Tokenization {
 public:
  explicit Tokenization(const LoadedModel& model) : model_(model) {}

  ScoredSequence scored(const TaskItem& item, const std::string& continuation, bool with_end) const {
    if (!item.messages.empty() && !model_.chat_template)
      fail("eval", "line {}: a chat prompt, but {} has no chat template Whet recognises", item.line, model_.path);
    const TokenizedExample t = tokenize_example(scored_example(item, continuation), model_.tokenizer,
                                                chat_template(), /*train_on_inputs=*/false);
    ScoredSequence s;
    s.ids = t.ids;
    s.begin = size_t(std::find(t.loss.begin(), t.loss.end(), true) - t.loss.begin());
    s.end = t.loss.size() - size_t(std::find(t.loss.rbegin(), t.loss.rend(), true) - t.loss.rbegin());
    if (!with_end)
      while (s.end > s.begin + 1 && model_.tokenizer.is_end_of_generation(s.ids[s.end - 1])) --s.end;
    WHET_ASSERT(s.begin >= 1 && s.begin < s.end);
    return s;
  }

  // Text scored on every token after the first ([BOS] text EOS).
  std::vector<int32_t> text(const std::string& text) const {
    Example example;
    example.format = DataFormat::Text;
    example.text = text;
    return tokenize_example(example, model_.tokenizer, chat_template(), false).ids;
  }

  // The prompt alone: the tokens before the answer.
  std::vector<int32_t> prompt(const TaskItem& item, const std::string& placeholder) const {
    ScoredSequence s = scored(item, placeholder, true);
    s.ids.resize(s.begin);
    return s.ids;
  }

 private:
  const ChatTemplate& chat_template() const { return model_.chat_template ? *model_.chat_template : fallback_; }
  const LoadedModel& model_;
  ChatTemplate fallback_;  // raw prompts never use it
};

double sum_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

// A scoring context for sequences of up to `longest` tokens, which must fit the model's context.
int64_t capacity_for(const LoadedModel& model, size_t longest) {
  if (int64_t(longest) > scoring_context(model))
    fail("eval", "an item of {} tokens does not fit the model's context of {}", longest, scoring_context(model));
  return int64_t(std::max<size_t>(longest, 1));
}

size_t argmax(const std::vector<double>& v) { return size_t(std::max_element(v.begin(), v.end()) - v.begin()); }

void score_choices(const LoadedModel& model, const Task& task, const EvalOptions& options, TaskResult& result,
                   const EvalProgress& progress) {
  const bool classification = task.kind == TaskKind::Classification;
  const std::vector<std::vector<double>> logliks =
      choice_loglikelihoods(model, task.items, task.kind, task.labels, options.shots, progress);
  auto& correct = result.per_item[classification ? "accuracy" : "acc"];
  auto& correct_norm = result.per_item["acc_norm"];
  std::vector<std::string> references;
  for (size_t i = 0; i < task.items.size(); ++i) {
    const TaskItem& item = task.items[i];
    const std::vector<double>& loglik = logliks[i];
    const std::vector<std::string>& choices = classification ? task.labels : item.choices;
    std::vector<double> per_byte;
    for (size_t c = 0; c < choices.size(); ++c)
      per_byte.push_back(loglik[c] / double(std::max<size_t>(1, choices[c].size())));
    const size_t chosen = argmax(loglik);
    result.predictions.push_back(choices[chosen]);
    if (classification) {
      references.push_back(item.label);
      correct.push_back(choices[chosen] == item.label ? 1.0 : 0.0);
    } else {
      correct.push_back(chosen == size_t(item.answer) ? 1.0 : 0.0);
      correct_norm.push_back(argmax(per_byte) == size_t(item.answer) ? 1.0 : 0.0);
    }
  }
  if (classification) {
    result.per_item.erase("acc_norm");
    result.classification = classification_report(result.predictions, references);
  }
}

// Classification by a trained head: the most probable of its labels.
void classify_with_head(const LoadedModel& model, const Task& task, const EvalOptions& options, TaskResult& result,
                        const EvalProgress& progress) {
  const SequenceClassifier& head = *options.classifier;
  if (head.scores())
    fail("eval", "{}: a reward model's head gives a score, not a label; it scores preference pairs "
                 "({{\"prompt\", \"chosen\", \"rejected\"}} lines)", task.path);
  for (const std::string& label : task.labels)
    if (head.label_index(label) < 0)
      fail("eval", "{}: label '{}' is not one of the classification head's ({})", task.path, label,
           fmt::join(head.labels, ", "));
  std::vector<TaskItem> items;
  for (const TaskItem& item : task.items) items.push_back(with_shots(item, options.shots, task.kind));
  std::vector<std::string> references;
  for (const ClassifierHeadResult& r : classify_items(model, head, items, progress)) {
    const size_t best = size_t(std::max_element(r.probabilities.begin(), r.probabilities.end()) - r.probabilities.begin());
    result.predictions.push_back(head.labels[best]);
    references.push_back(task.items[references.size()].label);
    result.per_item["accuracy"].push_back(result.predictions.back() == references.back() ? 1.0 : 0.0);
  }
  result.classification = classification_report(result.predictions, references);
}

// The pair as training tokenizes it (data/tokenize_preference.h), for a reward model to score.
RewardPair tokenized_pair(const LoadedModel& model, const Task& task, const TaskItem& item) {
  if (!item.messages.empty() && !model.chat_template)
    fail("eval", "{}:{}: a chat prompt, but {} has no chat template Whet recognises", task.path, item.line, model.path);
  PreferenceExample pair;
  pair.file = task.path;
  pair.line = item.line;
  pair.prompt = {item.messages, item.prompt};
  pair.chosen = item.choices.at(0);
  pair.rejected = item.choices.at(1);
  const ChatTemplate chat = model.chat_template ? *model.chat_template : ChatTemplate::by_name("alpaca");
  return reward_pair(tokenize_pair(pair, model.tokenizer, chat));
}

// Preference pairs: a pair counts when the chosen answer scores higher, by a
// reward model's head, or without one by the summed log-likelihood of the answers.
void score_pairs(const LoadedModel& model, const Task& task, const EvalOptions& options, TaskResult& result,
                 const EvalProgress& progress) {
  std::vector<double> chosen, rejected;
  if (options.classifier) {
    const SequenceClassifier& head = *options.classifier;
    if (!head.scores())
      fail("eval", "{}: preference pairs need a reward model (one score), not a classifier of labels ({})",
           task.path, fmt::join(head.labels, ", "));
    std::vector<RewardPair> pairs;
    size_t longest = 1;
    for (const TaskItem& item : task.items) {
      pairs.push_back(tokenized_pair(model, task, item));
      longest = std::max({longest, pairs.back().chosen.size(), pairs.back().rejected.size()});
    }
    LlamaActivations acts(model.model.config, capacity_for(model, longest), model.adapter ? model.adapter->config.rank : 0);
    for (size_t i = 0; i < pairs.size(); ++i) {
      chosen.push_back(reward_score(model.model, model.adapter.get(), acts, pairs[i].chosen, head));
      rejected.push_back(reward_score(model.model, model.adapter.get(), acts, pairs[i].rejected, head));
      if (progress) progress(int64_t(i + 1), int64_t(pairs.size()));
    }
  } else {
    for (const std::vector<double>& l : choice_loglikelihoods(model, task.items, task.kind, {}, options.shots, progress)) {
      chosen.push_back(l.at(0));
      rejected.push_back(l.at(1));
    }
  }
  for (size_t i = 0; i < chosen.size(); ++i) {
    const bool right = chosen[i] > rejected[i];
    result.predictions.push_back(right ? "chosen" : "rejected");
    result.per_item["pairwise_accuracy"].push_back(right ? 1.0 : 0.0);
  }
}

// Generation: greedy answers, scored against every reference answer (the best counts).
void generate_answers(const LoadedModel& model, const Task& task, const EvalOptions& options, TaskResult& result,
                      const EvalProgress& progress) {
  GenerationOptions greedy;
  greedy.sampling.temperature = 0.0f;
  greedy.max_tokens = options.max_new_tokens;
  std::vector<std::string> references;
  for (size_t i = 0; i < task.items.size(); ++i) {
    const TaskItem item = with_shots(task.items[i], options.shots, task.kind);
    const std::vector<int32_t> prompt = prompt_tokens(model, item);
    if (int64_t(prompt.size()) + greedy.max_tokens > scoring_context(model))
      fail("eval", "{}:{}: the prompt ({} tokens) and {} new tokens exceed the context of {}", task.path, item.line,
           prompt.size(), greedy.max_tokens, scoring_context(model));
    Session session(model.model, int64_t(prompt.size()) + greedy.max_tokens);
    std::string answer = generate(model, session, prompt, greedy).text;
    // Raw prompts continue after "Answer:"; the answer is its first line.
    if (item.messages.empty()) answer = answer.substr(0, answer.find('\n'));
    result.predictions.push_back(answer);
    if (task.kind == TaskKind::Classification) {
      const auto match = std::find_if(task.labels.begin(), task.labels.end(), [&](const std::string& label) {
        return normalize_answer(label) == normalize_answer(answer);
      });
      if (match != task.labels.end()) result.predictions.back() = *match;  // else the raw answer, an invalid one
      references.push_back(item.label);
      result.per_item["accuracy"].push_back(result.predictions.back() == item.label ? 1.0 : 0.0);
    } else {
      double em = 0, contains = 0, rouge = 0, f1 = 0;
      for (const std::string& reference : item.answers) {
        em = std::max(em, exact_match(answer, reference) ? 1.0 : 0.0);
        contains = std::max(contains, contains_answer(answer, reference) ? 1.0 : 0.0);
        rouge = std::max(rouge, rouge_l(answer, reference));
        f1 = std::max(f1, token_f1(answer, reference));
      }
      result.per_item["exact_match"].push_back(em);
      result.per_item["contains"].push_back(contains);
      result.per_item["rouge_l"].push_back(rouge);
      result.per_item["token_f1"].push_back(f1);
    }
    if (progress) progress(int64_t(i + 1), int64_t(task.items.size()));
  }
  if (task.kind == TaskKind::Classification) {
    // Invalid answers are errors, together in one column; macro F1 averages over the reference labels.
    result.classification = classification_report(result.predictions, references);
  }
}

// Perplexity over all texts: windows of the model's context, each predicting
// its tokens after the first.
void score_texts(const LoadedModel& model, const Task& task, TaskResult& result, const EvalProgress& progress) {
  const Tokenization tokenization(model);
  const size_t window = size_t(std::min<int64_t>(scoring_context(model), 2048));
  LogLikelihood scorer(model, int64_t(window));
  for (size_t i = 0; i < task.items.size(); ++i) {
    const std::vector<int32_t> ids = tokenization.text(task.items[i].text);
    double nll = 0;
    int64_t tokens = 0;
    for (size_t start = 0; start + 1 < ids.size(); start += window - 1) {
      const size_t end = std::min(ids.size(), start + window);
      const std::vector<double> lp = scorer.token_logprobs(std::span(ids).subspan(start, end - start), 1);
      nll -= sum_of(lp);
      tokens += int64_t(lp.size());
    }
    result.per_item["nll"].push_back(nll);
    result.per_item["tokens"].push_back(double(tokens));
    if (progress) progress(int64_t(i + 1), int64_t(task.items.size()));
  }
}

std::string fill_template(const std::string& text, const std::string& substitution) {
  std::string out = text;
  for (size_t p = out.find("{group}"); p != std::string::npos; p = out.find("{group}", p + substitution.size()))
    out.replace(p, 7, substitution);
  return out;
}

// Counterfactual pairs: each variant's sentence log-likelihood; the gap of an
// item is the spread between its most and least likely variant.
void score_counterfactuals(const LoadedModel& model, const Task& task, TaskResult& result,
                           const EvalProgress& progress) {
  const Tokenization tokenization(model);
  LogLikelihood scorer(model, std::min<int64_t>(scoring_context(model), 1024));
  std::map<std::string, GroupGap> by_dimension;
  std::map<std::string, std::map<std::string, std::pair<double, int64_t>>> group_sums;
  for (size_t i = 0; i < task.items.size(); ++i) {
    const TaskItem& item = task.items[i];
    const std::string dimension = item.dimension.empty() ? "all" : item.dimension;
    std::vector<double> loglik;
    for (const auto& [group, substitution] : item.groups) {
      const std::vector<int32_t> ids = tokenization.text(fill_template(item.template_text, substitution));
      loglik.push_back(sum_of(scorer.token_logprobs(ids, 1)));
      auto& [sum, count] = group_sums[dimension][group];
      sum += loglik.back();
      ++count;
    }
    const double gap = *std::max_element(loglik.begin(), loglik.end()) - *std::min_element(loglik.begin(), loglik.end());
    result.per_item["abs_gap"].push_back(gap);
    GroupGap& g = by_dimension[dimension];
    g.dimension = dimension;
    g.mean_abs_gap += gap;
    ++g.items;
    if (progress) progress(int64_t(i + 1), int64_t(task.items.size()));
  }
  for (auto& [dimension, g] : by_dimension) {
    g.mean_abs_gap /= double(g.items);
    for (const auto& [group, sum_count] : group_sums[dimension])
      g.group_mean_logprob.emplace_back(group, sum_count.first / double(sum_count.second));
    result.gaps.push_back(g);
  }
}

}  // namespace

std::vector<MetricSpec> metrics_of(TaskKind kind) {
  switch (kind) {
    case TaskKind::Perplexity: return {{"perplexity", false}};
    case TaskKind::Classification: return {{"accuracy", true}, {"macro_f1", true}, {"micro_f1", true}};
    case TaskKind::MultipleChoice: return {{"acc", true}, {"acc_norm", true}};
    case TaskKind::Generation:
      return {{"exact_match", true}, {"contains", true}, {"rouge_l", true}, {"token_f1", true}};
    case TaskKind::Counterfactual: return {{"mean_abs_gap", false}};
    case TaskKind::Preference: return {{"pairwise_accuracy", true}};
  }
  return {};
}

Statistic metric_statistic(const TaskResult& result, const std::string& metric) {
  if (metric == "perplexity") {
    const std::vector<double>& nll = result.per_item.at("nll");
    const std::vector<double>& tokens = result.per_item.at("tokens");
    return [&nll, &tokens](const std::vector<size_t>& picks) {
      double n = 0, t = 0;
      for (size_t i : picks) n += nll[i], t += tokens[i];
      return std::exp(n / std::max(t, 1.0));
    };
  }
  if (metric == "macro_f1" || metric == "micro_f1") {
    const bool macro = metric == "macro_f1";
    return [&result, macro](const std::vector<size_t>& picks) {
      std::vector<std::string> predicted, reference;
      for (size_t i : picks) {
        predicted.push_back(result.predictions[i]);
        reference.push_back(result.references[i]);
      }
      const ClassificationReport r = classification_report(predicted, reference);
      return macro ? r.macro_f1 : r.micro_f1;
    };
  }
  if (metric == "mean_abs_gap") return mean_statistic(result.per_item.at("abs_gap"));
  return mean_statistic(result.per_item.at(metric));
}

double paired_p_value(const TaskResult& a, const TaskResult& b, const std::string& metric, const EvalOptions& options) {
  const std::vector<MetricSpec> specs = metrics_of(a.kind);
  const auto spec = std::find_if(specs.begin(), specs.end(), [&](const MetricSpec& s) { return s.name == metric; });
  WHET_ASSERT(spec != specs.end() && a.predictions.size() == b.predictions.size());
  const Statistic sa = metric_statistic(a, metric), sb = metric_statistic(b, metric);
  const size_t items = a.per_item.begin()->second.size();
  return spec->higher_is_better ? paired_bootstrap_p_value(items, sa, sb, options.resamples, options.seed)
                                : paired_bootstrap_p_value(items, sb, sa, options.resamples, options.seed);
}

void compute_metrics(TaskResult& result, size_t items, const EvalOptions& options) {
  std::vector<size_t> every(items);
  std::iota(every.begin(), every.end(), size_t{0});
  for (const MetricSpec& spec : metrics_of(result.kind)) {
    const Statistic statistic = metric_statistic(result, spec.name);
    result.metrics.push_back(Metric{spec.name, statistic(every),
                                    bootstrap_interval(items, statistic, options.level, options.resamples, options.seed),
                                    spec.higher_is_better});
  }
}

TaskResult evaluate_task(const LoadedModel& model, const std::string& model_name, const Task& task,
                         const EvalOptions& options, const EvalProgress& progress) {
  for (const TaskItem& shot : options.shots)
    if (shot.messages.empty() != task.items.front().messages.empty())
      fail("eval", "few-shot examples and {} must both use raw prompts or both chat messages", task.path);
  const auto start = std::chrono::steady_clock::now();
  TaskResult result;
  result.model = model_name;
  result.kind = task.kind;
  result.shots = options.shots;
  switch (task.kind) {
    case TaskKind::Perplexity: score_texts(model, task, result, progress); break;
    case TaskKind::Classification:
      if (options.classifier) classify_with_head(model, task, options, result, progress);
      else if (options.classify_by_generation) generate_answers(model, task, options, result, progress);
      else score_choices(model, task, options, result, progress);
      break;
    case TaskKind::MultipleChoice: score_choices(model, task, options, result, progress); break;
    case TaskKind::Generation: generate_answers(model, task, options, result, progress); break;
    case TaskKind::Counterfactual: score_counterfactuals(model, task, result, progress); break;
    case TaskKind::Preference: score_pairs(model, task, options, result, progress); break;
  }
  if (task.kind == TaskKind::Classification)
    for (const TaskItem& item : task.items) result.references.push_back(item.label);
  compute_metrics(result, task.items.size(), options);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<std::vector<double>> choice_loglikelihoods(const LoadedModel& model, const std::vector<TaskItem>& items,
                                                       TaskKind kind, const std::vector<std::string>& labels,
                                                       const std::vector<TaskItem>& shots, const EvalProgress& progress) {
  const Tokenization tokenization(model);
  const bool classification = kind == TaskKind::Classification;
  std::vector<std::vector<ScoredSequence>> sequences;  // per item, per choice
  size_t longest = 0;
  for (const TaskItem& original : items) {
    const TaskItem item = with_shots(original, shots, kind);
    const std::vector<std::string>& choices = classification ? labels : item.choices;
    auto& row = sequences.emplace_back();
    for (const std::string& choice : choices) {
      const std::string continuation = item.messages.empty() ? label_continuation(item.prompt, choice) : choice;
      row.push_back(tokenization.scored(item, continuation, /*with_end=*/classification));
      longest = std::max(longest, row.back().ids.size());
    }
  }
  LogLikelihood scorer(model, capacity_for(model, longest));
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < items.size(); ++i) {
    std::vector<LogLikelihood::Scored> choices;
    for (const ScoredSequence& s : sequences[i]) choices.push_back({std::span(s.ids).first(s.end), s.begin});
    std::vector<double>& loglik = out.emplace_back();
    for (const std::vector<double>& lp : scorer.token_logprobs(choices)) loglik.push_back(sum_of(lp));
    if (progress) progress(int64_t(i + 1), int64_t(items.size()));
  }
  return out;
}

int64_t scoring_context(const LoadedModel& model) {
  return usable_context(model.model.config);
}

std::vector<int32_t> prompt_tokens(const LoadedModel& model, const TaskItem& item) {
  // The prompt is tokenized apart from what follows it, so any continuation serves.
  return Tokenization(model).prompt(item, "x");
}

std::vector<ClassifierHeadResult> classify_items(const LoadedModel& model, const SequenceClassifier& head,
                                                 const std::vector<TaskItem>& items, const EvalProgress& progress) {
  std::vector<std::vector<int32_t>> prompts;
  size_t longest = 1;
  for (const TaskItem& item : items) {
    prompts.push_back(prompt_tokens(model, item));
    longest = std::max(longest, prompts.back().size());
  }
  LlamaActivations acts(model.model.config, int64_t(longest), model.adapter ? model.adapter->config.rank : 0);
  TrainPass pass;
  pass.lora = model.adapter.get();
  std::vector<ClassifierHeadResult> out;
  for (size_t i = 0; i < items.size(); ++i) {
    out.push_back(llama_classify(model.model, pass, acts, prompts[i], head.pass(), 0.0f));
    if (progress) progress(int64_t(i + 1), int64_t(items.size()));
  }
  return out;
}

std::vector<TaskItem> draw_shots(const Task& source, int count, uint64_t seed) {
  if (count > int(source.items.size()))
    fail(source.path, "{} few-shot examples asked for, but the file has {} items", count, source.items.size());
  std::vector<size_t> order(source.items.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed);
  std::vector<TaskItem> shots;
  for (int i = 0; i < count; ++i) {
    const size_t j = size_t(i) + std::uniform_int_distribution<size_t>(0, order.size() - 1 - size_t(i))(rng);
    std::swap(order[size_t(i)], order[j]);
    shots.push_back(source.items[order[size_t(i)]]);
  }
  return shots;
}

}  // namespace whet
