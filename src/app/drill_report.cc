#include "app/drill_report.h"

#include <fmt/format.h>

#include <cstdlib>

#include "model/time_format.h"
#include "policy/duration.h"

namespace lifeboat {
namespace {

std::string Secs(double s) { return fmt::format("{:.2f} s", s); }

std::string Rto(int64_t rto) { return rto > 0 ? FormatDurationSeconds(rto) : "none"; }

// Markdown table cells: no pipes or newlines.
std::string Cell(std::string s) {
  for (char& c : s) {
    if (c == '|') c = '/';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

bool ComponentDrill::checks_ok() const {
  for (const CheckResult& c : checks) {
    if (!c.ok) return false;
  }
  return true;
}

bool DrillReport::ok() const {
  if (components.empty()) return false;
  for (const ComponentDrill& c : components) {
    if (!c.ok()) return false;
  }
  return true;
}

bool DrillReport::AnyRtoMissed() const {
  for (const ComponentDrill& c : components) {
    if (c.restored && c.error.empty() && c.checks_ok() && !c.rto_met()) return true;
  }
  return false;
}

std::vector<std::string> DrillReport::Failures() const {
  std::vector<std::string> out;
  if (components.empty()) out.push_back("no component was drilled");
  for (const ComponentDrill& c : components) {
    if (!c.error.empty()) out.push_back(c.name + ": " + c.error);
    else if (!c.restored) out.push_back(c.name + ": not restored");
    for (const CheckResult& check : c.checks) {
      if (!check.ok) out.push_back(c.name + ": check '" + check.check + "' failed: " + check.detail);
    }
    if (!c.rto_met()) {
      out.push_back(fmt::format("{}: recovery took {}, RTO {}", c.name, Secs(c.seconds),
                                Rto(c.rto_seconds)));
    }
  }
  return out;
}

nlohmann::json DrillReportToJson(const DrillReport& r) {
  nlohmann::json comps = nlohmann::json::array();
  for (const ComponentDrill& c : r.components) {
    nlohmann::json checks = nlohmann::json::array();
    for (const CheckResult& k : c.checks) {
      checks.push_back({{"check", k.check}, {"ok", k.ok}, {"detail", k.detail}});
    }
    nlohmann::json j = {{"name", c.name},
                        {"kind", c.kind},
                        {"repository", c.repository},
                        {"snapshot", c.snapshot_id},
                        {"restored", c.restored},
                        {"restore_seconds", c.restore_seconds},
                        {"verify_seconds", c.verify_seconds},
                        {"seconds", c.seconds},
                        {"rto_seconds", c.rto_seconds},
                        {"rto_met", c.rto_met()},
                        {"checks", checks},
                        {"ok", c.ok()}};
    if (c.snapshot_time_ns != 0) j["snapshot_time"] = FormatTimeRfc3339(c.snapshot_time_ns);
    if (!c.error.empty()) j["error"] = c.error;
    comps.push_back(j);
  }
  return {{"version", kDrillReportVersion},
          {"app", r.app},
          {"host", r.host},
          {"sandbox", r.sandbox},
          {"started", FormatTimeRfc3339(r.started_ns)},
          {"finished", FormatTimeRfc3339(r.finished_ns)},
          {"total_seconds", r.total_seconds},
          {"ok", r.ok()},
          {"failures", r.Failures()},
          {"components", comps}};
}

Result<DrillReport> DrillReportFromJson(const nlohmann::json& j) {
  try {
    if (!j.is_object() || j.value("version", 0) != kDrillReportVersion) {
      return Corrupt("not a drill report of version " + std::to_string(kDrillReportVersion));
    }
    DrillReport r;
    r.app = j.at("app").get<std::string>();
    r.host = j.value("host", "");
    r.sandbox = j.value("sandbox", "");
    LB_ASSIGN_OR_RETURN(r.started_ns, ParseTimeRfc3339(j.at("started").get<std::string>()));
    LB_ASSIGN_OR_RETURN(r.finished_ns, ParseTimeRfc3339(j.at("finished").get<std::string>()));
    r.total_seconds = j.at("total_seconds").get<double>();
    for (const auto& jc : j.at("components")) {
      ComponentDrill c;
      c.name = jc.at("name").get<std::string>();
      c.kind = jc.value("kind", "");
      c.repository = jc.value("repository", "");
      c.snapshot_id = jc.value("snapshot", "");
      if (jc.contains("snapshot_time")) {
        LB_ASSIGN_OR_RETURN(c.snapshot_time_ns,
                            ParseTimeRfc3339(jc.at("snapshot_time").get<std::string>()));
      }
      c.restored = jc.value("restored", false);
      c.restore_seconds = jc.value("restore_seconds", 0.0);
      c.verify_seconds = jc.value("verify_seconds", 0.0);
      c.seconds = jc.at("seconds").get<double>();
      c.rto_seconds = jc.value("rto_seconds", int64_t{0});
      c.error = jc.value("error", "");
      for (const auto& jk : jc.value("checks", nlohmann::json::array())) {
        c.checks.push_back(
            {jk.at("check").get<std::string>(), jk.at("ok").get<bool>(), jk.value("detail", "")});
      }
      r.components.push_back(std::move(c));
    }
    return r;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed drill report: ") + e.what());
  }
}

std::string DrillReportMarkdown(const DrillReport& r) {
  std::string md;
  md += fmt::format("# Restore drill of {}: {}\n\n", r.app, r.ok() ? "PASSED" : "FAILED");
  md += fmt::format("- started: {}\n- finished: {}\n- host: {}\n- total time: {}\n\n",
                    FormatTimeRfc3339(r.started_ns), FormatTimeRfc3339(r.finished_ns), r.host,
                    Secs(r.total_seconds));
  md += "| component | kind | repository | snapshot | restore | verify | total | RTO | result |\n";
  md += "|---|---|---|---|---|---|---|---|---|\n";
  for (const ComponentDrill& c : r.components) {
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", Cell(c.name),
                      Cell(c.kind), Cell(c.repository),
                      c.snapshot_id.empty() ? "-" : c.snapshot_id.substr(0, 8),
                      Secs(c.restore_seconds), Secs(c.verify_seconds), Secs(c.seconds),
                      Rto(c.rto_seconds),
                      c.ok() ? "passed" : (c.rto_met() || !c.restored ? "FAILED" : "RTO MISSED"));
  }
  for (const ComponentDrill& c : r.components) {
    md += fmt::format("\n## {}\n\n", c.name);
    if (!c.snapshot_id.empty()) {
      md += fmt::format("Snapshot `{}` of {} from repository {}.\n\n", c.snapshot_id,
                        c.snapshot_time_ns ? FormatTimeRfc3339(c.snapshot_time_ns) : "?",
                        c.repository);
    }
    if (!c.error.empty()) md += "Error: " + Cell(c.error) + "\n\n";
    for (const CheckResult& k : c.checks) {
      md += fmt::format("- [{}] `{}`{}\n", k.ok ? "x" : " ", k.check,
                        k.detail.empty() ? "" : ": " + Cell(k.detail));
    }
    if (c.checks.empty()) md += "- no verify checks configured\n";
  }
  std::vector<std::string> failures = r.Failures();
  if (!failures.empty()) {
    md += "\n## Failures\n\n";
    for (const std::string& f : failures) md += "- " + Cell(f) + "\n";
  }
  return md;
}

std::map<std::string, std::string> DrillSourceInfo(const DrillReport& r) {
  std::map<std::string, std::string> info;
  info["result"] = r.ok() ? "passed" : "failed";
  info["total_seconds"] = fmt::format("{:.3f}", r.total_seconds);
  std::string names;
  for (const ComponentDrill& c : r.components) {
    names += (names.empty() ? "" : ",") + c.name;
    info[c.name + ".result"] = c.ok() ? "passed" : "failed";
    info[c.name + ".seconds"] = fmt::format("{:.3f}", c.seconds);
    info[c.name + ".rto_seconds"] = std::to_string(c.rto_seconds);
    info[c.name + ".snapshot"] = c.snapshot_id;
  }
  info["components"] = names;
  return info;
}

LastDrill LastDrillOf(const std::map<std::string, std::string>& info, const std::string& name) {
  LastDrill d;
  auto result = info.find(name + ".result");
  if (result == info.end()) return d;
  d.found = true;
  d.passed = result->second == "passed";
  if (auto it = info.find(name + ".seconds"); it != info.end()) {
    d.seconds = std::strtod(it->second.c_str(), nullptr);
  }
  if (auto it = info.find(name + ".rto_seconds"); it != info.end()) {
    d.rto_seconds = std::strtoll(it->second.c_str(), nullptr, 10);
  }
  return d;
}

}  // namespace lifeboat
