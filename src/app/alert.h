// Alerts: one JSON object per event, given to the operator's [alerts]
// command on its standard input and POSTed to the [alerts] webhook.
//
//   {"app": "shop", "kind": "drill_failed", "component": "db",
//    "message": "...", "time": "2026-12-05T08:00:00Z", "details": {...}}
//
// kind is one of drill_failed, rto_missed, rpo_breach, backup_failed,
// rule_321, change_rate. The agent also sends "resolved": true (same kind and
// component) when a condition it alerted on clears; the key is absent
// otherwise. The message never reaches a shell: the command line is the
// operator's (run with /bin/sh -c as written in lifeboat.toml) and the alert
// only travels on stdin / in the HTTP body.
//
// Used by `lifeboat drill` now and the agent later. Thread-safety: free
// functions; SendAlert runs a child process and libcurl (curl_global_init is
// done once, on first use).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/process.h"
#include "appconfig/app_config.h"
#include "base/result.h"

namespace lifeboat {

enum class AlertKind {
  kDrillFailed,
  kRtoMissed,
  kRpoBreach,
  kBackupFailed,
  kRule321,
  kChangeRate,  // run: a backup changed far more than usual (app/change_rate.h)
};
std::string_view AlertKindName(AlertKind kind);  // "drill_failed", ...

struct Alert {
  std::string app;
  AlertKind kind = AlertKind::kDrillFailed;
  std::string component;  // empty: the whole application
  std::string message;
  int64_t time_ns = 0;
  nlohmann::json details = nlohmann::json::object();
  bool resolved = false;  // the condition cleared ("resolved": true in the JSON)
};

nlohmann::json AlertJson(const Alert& alert);

inline constexpr int kWebhookTimeoutSeconds = 10;
inline constexpr int kAlertCommandTimeoutSeconds = 60;

// What happened to one alert.
struct AlertDelivery {
  bool command_run = false;  // a command is configured and exited 0
  bool webhook_sent = false;  // a webhook is configured and answered 2xx
  std::vector<std::string> problems;  // one sentence each; never fatal
};

// Runs `alerts.command` (if set) with AlertJson on stdin, and POSTs it to
// `alerts.webhook` (if set; Content-Type application/json, timeout 10 s).
// When the environment variable LIFEBOAT_ALERTS_BY_AGENT lists the alert's
// kind (comma-separated), nothing is sent: the agent that started this
// process sends that kind itself, de-duplicated (agent/alerting.h).
AlertDelivery SendAlert(const AlertsConfig& alerts, const Alert& alert);

// The two halves, for tests and for callers that want only one.
Status RunAlertCommand(const std::string& command, const std::string& json_text);
Status PostWebhook(const std::string& url, const std::string& json_text, int timeout_seconds);

}  // namespace lifeboat
