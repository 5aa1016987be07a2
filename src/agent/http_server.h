// A minimal HTTP server for /metrics and /healthz (libmicrohttpd, its own
// polling thread). GET and HEAD only; the handler maps a path to a
// response and runs on the server thread (it must lock what it reads).
//
// Thread-safety: Start/Stop from one thread; the handler from the server's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"

struct MHD_Daemon;

namespace lifeboat {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const std::string& path)>;

struct ListenAddress {
  std::string host;  // an IPv4 or IPv6 literal
  int port = 0;
  bool ipv6 = false;
  std::string ToString() const {
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};
// "127.0.0.1:9847", "localhost:9847", ":9847" (= 127.0.0.1), "[::1]:9847",
// "[::]:9847" (every IPv6 address, and IPv4 where the system maps it).
Result<ListenAddress> ParseListenAddress(const std::string& text);

class HttpServer {
 public:
  HttpServer() = default;
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status Start(const ListenAddress& address, HttpHandler handler);
  void Stop();
  int port() const { return port_; }  // the bound port (useful with port 0)

  // For the libmicrohttpd callback.
  const HttpHandler& handler() const { return handler_; }

 private:
  MHD_Daemon* daemon_ = nullptr;
  HttpHandler handler_;
  int port_ = 0;
};

}  // namespace lifeboat
