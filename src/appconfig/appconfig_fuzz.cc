// libFuzzer target for ParseAppConfig: lifeboat.toml is written by people
// (and sometimes generated), so any bytes must parse or fail with
// positioned errors — never crash, hang or return a half-valid config.
#include <cstdlib>
#include <string_view>

#include "appconfig/app_config.h"
#include "appconfig/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<ConfigError> errors;
  auto config = ParseAppConfig(text, "fuzz.toml", &errors);
  if (config.ok()) {
    if (!errors.empty() || config->repositories.empty() || config->components.empty()) {
      std::abort();
    }
    for (const ComponentConfig& c : config->components) {
      // Every reference resolves; durations are positive.
      if (c.rpo_seconds <= 0 || c.rto_seconds <= 0 || c.repositories.empty()) std::abort();
      for (const std::string& r : c.repositories) {
        if (!config->FindRepository(r)) std::abort();
      }
    }
    const Plan plan = MakePlan(*config);
    if (plan.components.size() != config->components.size()) std::abort();
    (void)PlanToJson(plan).dump();
  } else {
    if (errors.empty() || config.status().code() != Code::kInvalidArgument) std::abort();
    for (const ConfigError& e : errors) {
      if (e.line < 0 || e.column < 0 || e.message.empty()) std::abort();
    }
  }
  return 0;
}
