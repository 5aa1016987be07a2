#include "agent/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

namespace lifeboat {

Result<ListenAddress> ParseListenAddress(const std::string& text) {
  ListenAddress a;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find("]:");
    if (close == std::string::npos) {
      return InvalidArgument("--listen '" + text + "': expected [IPV6]:PORT, e.g. [::1]:9847");
    }
    a.host = text.substr(1, close - 1);
    a.ipv6 = true;
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgument("--listen '" + text + "': expected HOST:PORT, e.g. 127.0.0.1:9847");
    }
    a.host = text.substr(0, colon);
    if (a.host.empty() || a.host == "localhost") a.host = "127.0.0.1";
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return InvalidArgument("--listen '" + text + "': invalid port '" + port + "'");
  }
  a.port = std::stoi(port);
  if (a.ipv6) {
    in6_addr addr6;
    if (inet_pton(AF_INET6, a.host.c_str(), &addr6) != 1) {
      return InvalidArgument("--listen '" + text + "': '" + a.host + "' is not an IPv6 address");
    }
    return a;
  }
  in_addr addr;
  if (inet_pton(AF_INET, a.host.c_str(), &addr) != 1) {
    return InvalidArgument("--listen '" + text + "': '" + a.host +
                           "' is not an IP address (use e.g. 127.0.0.1, 0.0.0.0 or [::1])");
  }
  return a;
}

namespace {

MHD_Result Answer(void* cls, MHD_Connection* connection, const char* url, const char* method,
                  const char*, const char*, size_t* upload_size, void** con_cls) {
  // First call per request: headers only.
  static int marker;
  if (*con_cls != &marker) {
    *con_cls = &marker;
    return MHD_YES;
  }
  if (*upload_size != 0) {
    *upload_size = 0;  // ignore any body
    return MHD_YES;
  }
  auto* server = static_cast<HttpServer*>(cls);
  HttpResponse r;
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
    r.status = 405;
    r.body = "method not allowed\n";
  } else {
    r = server->handler()(url ? url : "");
  }
  MHD_Response* response =
      MHD_create_response_from_buffer(r.body.size(), r.body.data(), MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  MHD_add_response_header(response, "Content-Type", r.content_type.c_str());
  MHD_add_response_header(response, "Cache-Control", "no-store");
  MHD_Result ret = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
  MHD_destroy_response(response);
  return ret;
}

}  // namespace

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const ListenAddress& address, HttpHandler handler) {
  handler_ = std::move(handler);
  sockaddr_in sa;
  sockaddr_in6 sa6;
  std::memset(&sa, 0, sizeof sa);
  std::memset(&sa6, 0, sizeof sa6);
  sockaddr* bind_to = reinterpret_cast<sockaddr*>(&sa);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (address.ipv6) {
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET6, address.host.c_str(), &sa6.sin6_addr);
    bind_to = reinterpret_cast<sockaddr*>(&sa6);
    flags |= MHD_USE_IPv6;
  } else {
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET, address.host.c_str(), &sa.sin_addr);
  }
  daemon_ = MHD_start_daemon(flags, static_cast<uint16_t>(address.port), nullptr, nullptr, &Answer,
                             this, MHD_OPTION_SOCK_ADDR, bind_to,
                             MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 64u,
                             MHD_OPTION_END);
  if (!daemon_) {
    return IoError("unable to listen on " + address.ToString() +
                   " (address in use or not available)");
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info ? info->port : address.port;
  return Status::Ok();
}

void HttpServer::Stop() {
  if (daemon_) MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace lifeboat
