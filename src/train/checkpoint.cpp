#include "train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/json_fields.h"
#include "io/safetensors.h"

namespace whet {

namespace fs = std::filesystem;

namespace {

// N of a folder named "step-N"; -1 for any other name, such as the "step-N.tmp.PID"
// a process killed while writing a checkpoint leaves behind.
int64_t step_of(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (!name.starts_with("step-")) return -1;
  int64_t step = -1;
  const char* end = name.data() + name.size();
  const auto [stopped, error] = std::from_chars(name.data() + 5, end, step);
  return error == std::errc() && stopped == end ? step : -1;
}

std::vector<fs::path> checkpoints_by_step(const std::string& run_dir) {
  std::vector<fs::path> found;
  const fs::path root = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(root)) return found;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory() && step_of(entry.path()) >= 0) found.push_back(entry.path());
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) { return step_of(a) < step_of(b); });
  return found;
}

}  // namespace

void save_parameters(const std::string& path, const std::vector<Parameter>& params) {
  std::vector<TensorView> views;
  for (const Parameter& p : params)
    views.push_back(TensorView{p.name, DType::F32, {p.numel}, reinterpret_cast<const uint8_t*>(p.value),
                               size_t(p.numel) * sizeof(float)});
  write_safetensors(path, views);
}

void load_parameters(const std::string& path, const std::vector<Parameter>& params) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  for (const Parameter& p : params) {
    const TensorView* t = file.find_tensor(p.name);
    if (!t) fail(path, "missing tensor '{}'", p.name);
    if (t->dtype != DType::F32 || t->numel() != p.numel)
      fail(path, "tensor '{}' is {} with {} values, expected F32 with {}", p.name, dtype_name(t->dtype), t->numel(),
           p.numel);
    std::memcpy(p.value, t->data, t->nbytes);
    refresh_bf16_copy(p);
  }
}

void save_checkpoint(const std::string& dir, const std::vector<Parameter>& params, const Optimizer& optimizer,
                     const LoopState& loop) {
  const std::string tmp = dir + ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  save_parameters(tmp + "/trainable.safetensors", params);
  write_safetensors(tmp + "/optimizer.safetensors", optimizer.state());
  const nlohmann::json state = {{"step", loop.step},
                                {"epoch", loop.epoch},
                                {"epoch_position", loop.epoch_position},
                                {"best_val_loss", loop.best_val_loss},
                                {"best_score", loop.best_score},
                                {"best_step", loop.best_step},
                                {"evals_without_improvement", loop.evals_without_improvement},
                                {"optimizer_steps", optimizer.step_count()}};
  write_file_atomic(tmp + "/trainer_state.json", state.dump(2) + "\n");
  fs::remove_all(dir);
  fs::rename(tmp, dir);
}

LoopState load_checkpoint(const std::string& dir, const std::vector<Parameter>& params, Optimizer& optimizer) {
  const std::string state_path = dir + "/trainer_state.json";
  const nlohmann::json root = read_json_object(state_path);
  const Fields f(state_path, root);
  LoopState loop;
  auto integer = [&](const char* key) {
    const double v = f.number(key, -1.0);
    if (v < 0) fail(state_path, "field '{}' is missing or negative", key);
    return int64_t(v);
  };
  loop.step = integer("step");
  loop.epoch = integer("epoch");
  loop.epoch_position = integer("epoch_position");
  loop.best_val_loss = f.number("best_val_loss", 1e300);
  loop.best_score = f.number("best_score", loop.best_val_loss);
  loop.best_step = int64_t(f.number("best_step", -1));
  loop.evals_without_improvement = int(integer("evals_without_improvement"));
  load_parameters(dir + "/trainable.safetensors", params);
  const SafetensorsFile state = SafetensorsFile::open(dir + "/optimizer.safetensors");
  optimizer.restore(integer("optimizer_steps"), state.tensors);
  return loop;
}

std::string latest_checkpoint(const std::string& run_dir) {
  const std::vector<fs::path> found = checkpoints_by_step(run_dir);
  return found.empty() ? "" : found.back().string();
}

void prune_checkpoints(const std::string& run_dir, int keep) {
  if (keep <= 0) return;
  const std::vector<fs::path> found = checkpoints_by_step(run_dir);
  for (size_t i = 0; i + size_t(keep) < found.size(); ++i) fs::remove_all(found[i]);
}

}  // namespace whet
