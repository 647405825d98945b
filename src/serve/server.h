#pragma once
// `whet serve`: an OpenAI-compatible HTTP server over one base model, its LoRA
// adapters and the fine-tuning jobs that make more of them.
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "serve/drift_options.h"
#include "serve/inference_engine.h"

namespace whet::serve {

struct ServerOptions {
  std::string model_path;                  // GGUF file or Hugging Face directory
  std::string model_name;                  // how clients name the base; "" = the file or folder name
  std::string weights = "native";
  std::vector<std::string> adapters;       // "NAME=DIR", loaded at start
  std::vector<std::string> reward_models;  // "NAME=DIR" of `whet train --method reward` outputs, for /v1/score
  float adapter_scale = 1.0f;              // strength of those adapters (--adapter-scale)
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string data_dir = "whet-data";      // jobs.sqlite, uploaded files, job outputs
  std::vector<std::string> api_keys;       // empty: no authentication
  bool public_inference = false;           // with keys: completions and model lists still open to all
  bool allow_gated = false;                // answer with models that failed their forgetting gate
  std::vector<std::string> adapter_roots;  // folders /v1/load_lora_adapter may read from
  size_t max_request_bytes = 1 << 20;      // JSON bodies
  size_t max_upload_bytes = 256u << 20;    // uploaded training files
  int max_tokens = 2048;                   // per request
  int max_n = 8;
  int64_t max_stored_completions = 50000;  // completion choices kept for feedback, newest first; 0: none
  EngineOptions engine;
  int http_threads = 32;
  std::string access_log;                  // "" = stderr, "-" = off
  DriftOptions drift;                      // monitoring of prompts against training data
  // A comment line on a quiet server-sent event stream (/v1/runs/{id}/events) this
  // often keeps proxies and browsers from closing it.
  std::chrono::milliseconds event_heartbeat{15000};
};

// Runs until `stop` becomes true (checked every 200 ms). Calls on_listening
// with the bound port once requests are accepted (port 0 picks a free one).
void run_server(const ServerOptions& options, const std::atomic<bool>& stop,
                const std::function<void(int port)>& on_listening = {});

}  // namespace whet::serve
