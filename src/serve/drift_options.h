#pragma once
// How `whet serve` watches production prompts for drift from the served
// version's training prompts (serve/drift_monitor.h; docs/serve.md, "Monitoring and drift").
#include <string>
#include <vector>

namespace whet::serve {

struct DriftOptions {
  std::vector<std::string> references;  // "MODEL=FILE": that model's reference prompts, any training format (--drift-reference)
  int window = 200;                     // the newest production prompts per model compared (--drift-window)
  int min_window = 50;                  // prompts in the window before drift is judged (--drift-min-window)
  double sample_rate = 0.1;             // share of prompts the background scorer measures (--drift-sample-rate)
  double psi_threshold = 0.2;           // PSI of prompt lengths above which drift is flagged (--drift-psi)
  double js_threshold = 0.1;            // JS divergence of token distributions (--drift-js)
  double surprise_threshold = 0.3;      // share of surprising prompts (--drift-surprise)
  int reference_sample = 200;           // training prompts scored for the perplexity threshold
  int scored_tokens = 1024;             // a prompt's first tokens that the scorer measures
};

}  // namespace whet::serve
