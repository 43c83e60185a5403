// The HTTP message types of the ingest server and the error values its sans-io parts return.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace iomt::transport::http {

namespace bhttp = boost::beast::http;

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

// An HTTP error answer: the status and a message that says what is wrong and why.
struct http_error {
  bhttp::status status = bhttp::status::bad_request;
  std::string message;
  // For the service's log only, never sent: what a deliberately generic answer leaves out (which
  // authentication check failed, issue 15). Never holds a secret.
  std::string detail = {};
  // 401/403 of bearer auth: the WWW-Authenticate challenge (RFC 6750 §3); empty: none sent.
  std::string www_authenticate = {};
  std::string retry_after = {};  // seconds, when the client should retry (503, 401 on a key set refresh)
};

// `{"status":413,"error":"Payload Too Large","message":"..."}` with Content-Type application/json,
// plus WWW-Authenticate and Retry-After when the error carries them.
response make_error_response(const http_error& error, unsigned version, bool keep_alive);

}  // namespace iomt::transport::http
