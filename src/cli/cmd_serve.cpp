// whet serve: the OpenAI-compatible server (docs/serve.md).
#include <cstdlib>

#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "cli/options.h"
#include "models/model_loader.h"
#include "serve/server.h"

namespace whet::cli {

namespace {

void run_serve(serve::ServerOptions options, const std::string& api_key_env) {
  if (options.model_path.empty()) options.model_path = default_model_path();
  // Keys from the environment keep them out of the process list.
  if (const char* env = std::getenv(api_key_env.c_str())) {
    std::string keys = env;
    for (size_t start = 0; start <= keys.size();) {
      const size_t comma = std::min(keys.find(',', start), keys.size());
      if (comma > start) options.api_keys.push_back(keys.substr(start, comma - start));
      start = comma + 1;
    }
  }
  const StopOnSignal stop({SIGINT, SIGTERM});
  serve::run_server(options, stop.requested(), [&](int port) {
    std::fprintf(stderr, "whet serve: listening on http://%s:%d (data in %s%s)\n", options.host.c_str(), port,
                 options.data_dir.c_str(), options.api_keys.empty() ? "; no API keys: anyone who can connect may call it" : "");
  });
  std::fprintf(stderr, "whet serve: stopped\n");
}

// Monitoring of production prompts against the served version's training prompts (docs/serve.md, "Monitoring and drift").
void add_drift_options(CLI::App& command, serve::DriftOptions& d) {
  command.add_option("--drift-reference", d.references,
                     "MODEL=FILE: the training data (JSONL, any training format) MODEL's prompts are compared with; "
                     "repeatable. Without it, an adapter or model served from its run folder uses the run's train_data");
  command.add_option("--drift-window", d.window, "Newest prompts per model compared with the reference")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--drift-min-window", d.min_window, "Prompts in a model's window before its drift is judged")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--drift-sample-rate", d.sample_rate,
                     "Share of prompts whose perplexity under the base is measured, in the background while the "
                     "engine is idle")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command.add_option("--drift-psi", d.psi_threshold, "Alert above this population stability index of prompt lengths")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--drift-js", d.js_threshold,
                     "Alert above this Jensen-Shannon divergence (bits) of the prompts' token distribution")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command.add_option("--drift-surprise", d.surprise_threshold,
                     "Alert above this share of prompts more surprising than 95% of the training prompts")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto* command = app.add_subcommand(
      "serve", "Serve a model over an OpenAI-compatible HTTP API, with live LoRA adapters and fine-tuning jobs");
  auto o = std::make_shared<serve::ServerOptions>();
  auto mb = std::make_shared<std::pair<size_t, size_t>>(1, 256);  // request and upload limits in MiB
  command->add_option("--model", o->model_path, "Base model: GGUF file or Hugging Face directory (default: SmolLM2-135M-Instruct)");
  command->add_option("--model-name", o->model_name, "Name clients use for the base model (default: its file or folder name)");
  command->add_option("--adapter", o->adapters, "A LoRA adapter to serve, NAME=DIR (PEFT layout); repeatable");
  add_adapter_scale(*command, o->adapter_scale);
  command->add_option("--reward-model", o->reward_models,
                      "A reward model for POST /v1/score, NAME=DIR: what `whet train --method reward` wrote (its head, "
                      "with the adapter beside it on the base, or the fully trained model); repeatable");
  command->add_option("--host", o->host, "Address to listen on")->capture_default_str();
  command->add_option("--port", o->port, "Port to listen on (0: any free port)")->capture_default_str();
  add_data_dir_option(*command, o->data_dir,
                      "Folder for the job database, uploaded files, job outputs and the run tracker (runs/, jobs/)");
  command->add_option("--api-key", o->api_keys,
                      "An accepted API key (repeatable); also read, comma-separated, from $WHET_API_KEYS. "
                      "With keys, every /v1 endpoint needs 'Authorization: Bearer KEY'");
  command->add_flag("--public-inference", o->public_inference,
                    "With API keys: leave completions and model lists open, keys guard files, jobs and adapters");
  command->add_flag("--allow-gated", o->allow_gated,
                    "Also answer with models whose training run failed its forgetting gate (gate.json); "
                    "by default they are listed but refused");
  command->add_option("--adapter-root", o->adapter_roots,
                      "A folder /v1/load_lora_adapter may load adapters from (repeatable; default: none)");
  command->add_option("--max-request-mb", mb->first, "Largest JSON request body, MiB")->capture_default_str();
  command->add_option("--max-upload-mb", mb->second, "Largest uploaded training file, MiB")->capture_default_str();
  command->add_option("--max-tokens", o->max_tokens, "Most tokens one request may generate")->capture_default_str();
  command->add_option("--max-stored-completions", o->max_stored_completions,
                      "Completion choices kept (newest first) so that POST /v1/feedback can name them; 0 keeps none")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_option("--max-batch", o->engine.max_batch, "Sequences decoded together")->capture_default_str();
  add_weights_option(*command, o->weights, "the base weights are");
  add_kv_cache_option(*command, o->engine.kv_cache_dtype);
  command
      ->add_option("--prefix-cache-tokens", o->engine.prefix_cache_tokens,
                   "Positions of recent prompts kept, so that a new prompt starting the same way (a system message, "
                   "earlier turns) copies their keys and values instead of reading them again; 0: off")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_option("--threads", o->engine.threads, "Threads for decoding (0: all cores)")->capture_default_str();
  command->add_option("--access-log", o->access_log, "Access log file (JSON lines); default stderr, '-' for none");
  add_drift_options(*command, o->drift);
  command->callback([o, mb] {
    o->max_request_bytes = mb->first << 20;
    o->max_upload_bytes = mb->second << 20;
    run_serve(*o, "WHET_API_KEYS");
  });
}

}  // namespace whet::cli
