#include "postgres/pg_server.h"

#include <libpq-fe.h>

#include <chrono>
#include <thread>
#include <vector>

namespace lifeboat {

Result<PgRecoveredPoint> WaitUntilOutOfRecovery(int port, const std::string& user,
                                                int timeout_seconds,
                                                const std::function<void()>& on_poll) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  const std::string port_text = std::to_string(port);
  std::string last_problem = "not tried";
  while (true) {
    std::vector<const char*> keys = {"host", "port", "dbname", "connect_timeout",
                                     "application_name"};
    std::vector<const char*> values = {"127.0.0.1", port_text.c_str(), "postgres", "5",
                                       "lifeboat"};
    if (!user.empty()) keys.push_back("user"), values.push_back(user.c_str());
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
    if (conn && PQstatus(conn) == CONNECTION_OK) {
      PGresult* r = PQexec(conn,
                           "select pg_is_in_recovery(), "
                           "coalesce(pg_last_xact_replay_timestamp()::text, ''), "
                           "case when pg_is_in_recovery() then '' "
                           "else pg_current_wal_lsn()::text end, "
                           // Once promoted, the timeline of the WAL being written (the
                           // checkpoint that records it may not have run yet).
                           "case when pg_is_in_recovery() "
                           "then (pg_control_checkpoint()).timeline_id::text "
                           "else (('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))"
                           "::bit(32)::int)::text end");
      if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 4) {
        if (std::string(PQgetvalue(r, 0, 0)) == "f") {
          PgRecoveredPoint p{PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3)};
          PQclear(r);
          PQfinish(conn);
          return p;
        }
        last_problem = "still in recovery";
      } else {
        last_problem = PQresultErrorMessage(r);
      }
      PQclear(r);
    } else {
      last_problem = conn ? PQerrorMessage(conn) : "out of memory";
    }
    if (conn) PQfinish(conn);
    while (!last_problem.empty() && last_problem.back() == '\n') last_problem.pop_back();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status(Code::kUnavailable, "the restored server on port " + port_text +
                                            " did not finish recovery within " +
                                            std::to_string(timeout_seconds) +
                                            " s: " + last_problem);
    }
    if (on_poll) on_poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace lifeboat
