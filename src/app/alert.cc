#include "app/alert.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cstdlib>
#include <mutex>

#include "model/time_format.h"

namespace lifeboat {

std::string_view AlertKindName(AlertKind kind) {
  switch (kind) {
    case AlertKind::kDrillFailed: return "drill_failed";
    case AlertKind::kRtoMissed: return "rto_missed";
    case AlertKind::kRpoBreach: return "rpo_breach";
    case AlertKind::kBackupFailed: return "backup_failed";
    case AlertKind::kRule321: return "rule_321";
    case AlertKind::kChangeRate: return "change_rate";
  }
  return "unknown";
}

nlohmann::json AlertJson(const Alert& a) {
  nlohmann::json j = {{"app", a.app},
          {"kind", std::string(AlertKindName(a.kind))},
          {"component", a.component},
          {"message", a.message},
          {"time", FormatTimeRfc3339(a.time_ns)},
          {"details", a.details.is_null() ? nlohmann::json::object() : a.details}};
  if (a.resolved) j["resolved"] = true;
  return j;
}

Status RunAlertCommand(const std::string& command, const std::string& json_text) {
  ProcessOptions po;
  po.stdin_data = json_text + "\n";
  po.timeout_seconds = kAlertCommandTimeoutSeconds;
  auto ran = RunShell(command, po);
  if (!ran.ok()) return ran.status().WithContext("alert command");
  if (ran->exit_code != 0) {
    return IoError(fmt::format("alert command failed (exit status {}): {}", ran->exit_code,
                               ran->LastLine()));
  }
  return Status::Ok();
}

namespace {

size_t DiscardBody(char*, size_t size, size_t n, void*) { return size * n; }

// The URL without user:password@ or query, for messages.
std::string UrlForMessages(const std::string& url) {
  std::string out = url;
  if (size_t q = out.find_first_of("?#"); q != std::string::npos) out.resize(q);
  size_t scheme = out.find("://");
  size_t at = out.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  size_t slash = out.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme != std::string::npos && at != std::string::npos && (slash == std::string::npos || at < slash)) {
    out = out.substr(0, scheme + 3) + out.substr(at + 1);
  }
  return out;
}

}  // namespace

Status PostWebhook(const std::string& url, const std::string& json_text, int timeout_seconds) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (!curl) return Internal("curl_easy_init failed");
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_text.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json_text.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout_seconds));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeout_seconds));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "lifeboat-alert");
  CURLcode rc = curl_easy_perform(curl);
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  const std::string where = UrlForMessages(url);
  if (rc != CURLE_OK) {
    return Status(Code::kUnavailable,
                  fmt::format("alert webhook {}: {}", where, error[0] ? error : curl_easy_strerror(rc)));
  }
  if (http < 200 || http > 299) {
    return Status(Code::kUnavailable, fmt::format("alert webhook {}: HTTP status {}", where, http));
  }
  return Status::Ok();
}

AlertDelivery SendAlert(const AlertsConfig& alerts, const Alert& alert) {
  AlertDelivery d;
  if (const char* by_agent = std::getenv("LIFEBOAT_ALERTS_BY_AGENT"); by_agent && *by_agent) {
    const std::string list = "," + std::string(by_agent) + ",";
    if (list.find("," + std::string(AlertKindName(alert.kind)) + ",") != std::string::npos) return d;
  }
  const std::string text = AlertJson(alert).dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
  if (!alerts.command.empty()) {
    Status s = RunAlertCommand(alerts.command, text);
    d.command_run = s.ok();
    if (!s.ok()) d.problems.push_back(s.message());
  }
  if (!alerts.webhook.empty()) {
    Status s = PostWebhook(alerts.webhook, text, kWebhookTimeoutSeconds);
    d.webhook_sent = s.ok();
    if (!s.ok()) d.problems.push_back(s.message());
  }
  return d;
}

}  // namespace lifeboat
