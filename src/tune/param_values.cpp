#include "tune/param_values.h"

#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "core/error.h"

namespace whet::tune {

nlohmann::json external_value(const Distribution& distribution, double internal) {
  switch (distribution.kind) {
    case Distribution::Kind::Float:
      // A stepped value low + k·step to 15 significant digits reads 0.3, not
      // 0.30000000000000004; a continuous one stays as sampled, as Optuna reports it.
      return distribution.step > 0 ? std::stod(fmt::format("{:.15g}", internal)) : internal;
    case Distribution::Kind::Int:
      return static_cast<int64_t>(std::llround(internal));
    case Distribution::Kind::Categorical: {
      const auto index = static_cast<std::size_t>(internal);
      WHET_ASSERT(internal >= 0 && index < distribution.choices.size());
      return distribution.choices[index];
    }
  }
  WHET_ASSERT(false);
}

std::string config_override(std::string_view name, const Distribution& distribution, double internal) {
  return fmt::format("{}={}", name, external_value(distribution, internal).dump());
}

std::map<std::string, Distribution> distributions_of(const SearchSpace& space,
                                                     const std::map<std::string, double>& params) {
  std::map<std::string, Distribution> out;
  for (const auto& [name, value] : params) {
    const Parameter* parameter = space.find(name);
    WHET_ASSERT(parameter != nullptr);
    out[name] = parameter->distribution;
  }
  return out;
}

std::string params_text(const Trial& trial) {
  std::string out;
  for (const auto& [name, internal] : trial.params)
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", name,
                       external_value(trial.distributions.at(name), internal).dump());
  return out;
}

}  // namespace whet::tune
