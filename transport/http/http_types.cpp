#include "transport/http/http_types.hpp"

#include "transport/http/json_scan.hpp"

namespace iomt::transport::http {

response make_error_response(const http_error& error, unsigned version, bool keep_alive) {
  response res{error.status, version};
  std::string body = "{\"status\":" + std::to_string(static_cast<unsigned>(error.status)) + ",\"error\":";
  json_scan::append_quoted(bhttp::obsolete_reason(error.status), body);
  body += ",\"message\":";
  json_scan::append_quoted(error.message, body);
  body += "}\n";
  res.set(bhttp::field::content_type, "application/json; charset=utf-8");
  if (!error.www_authenticate.empty()) res.set(bhttp::field::www_authenticate, error.www_authenticate);
  if (!error.retry_after.empty()) res.set(bhttp::field::retry_after, error.retry_after);
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

}  // namespace iomt::transport::http
