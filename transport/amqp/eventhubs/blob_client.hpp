// The Blob REST API client of the blob checkpoint store: Azure Storage headers and signing
// (blob_auth.hpp) on top of the project's HTTP/1.1 client (net/http_pool.hpp: one keep-alive
// connection here, reopened when it breaks; TLS as everywhere, net/tls_context.hpp). Synchronous:
// each send() runs the pool on the client's own io_context until the exchange completes. Every
// request has a deadline (DNS + connect + TLS, and the whole exchange), so a dead storage endpoint
// never blocks a caller forever.
//
// Not thread-safe: the checkpoint store serializes its calls.
#pragma once

#include "transport/amqp/error.hpp"
#include "transport/amqp/eventhubs/blob_auth.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace iomt::transport::amqp::eventhubs::blob {

struct client_options {
  std::string ca_file;  // PEM trust anchors added to the system store
  bool tls_verify = true;
  std::chrono::milliseconds connect_timeout{5000};   // DNS + TCP + TLS handshake
  std::chrono::milliseconds request_timeout{10000};  // write + read of one exchange
  std::size_t max_response_bytes = 16u << 20;
};

struct response {
  unsigned status = 0;
  std::string etag;                     // ETag header, as sent in If-Match
  std::string error_code;               // x-ms-error-code (or the body's <Code>)
  std::string offset, sequence_number;  // x-ms-meta-offset / x-ms-meta-sequencenumber
  std::string owner_id;                 // x-ms-meta-ownerid
  std::string last_modified;            // Last-Modified (RFC 1123)
  std::string body;
};

// "HTTP 412 ConditionNotMet": the status and x-ms-error-code of a response, for messages.
std::string status_text(const response& r);

// An HTTP status the stores do not expect as an error: "<what>: HTTP <status> <code>".
// 401/403 is authentication_failed (the key or SAS is wrong, or lacks a permission; the message
// says to check them), any other status a storage failure (management_error).
error http_error(const response& r, std::string what);

class client {
public:
  // Fails (bad_configuration) on an unreadable CA file or a bad port.
  static boost::system::result<std::unique_ptr<client>, error> make(storage_account account, client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Adds Host, x-ms-date, x-ms-version, Content-Length and the Authorization (Shared Key) or the
  // SAS, then sends `r` with an empty body. Transport failures are errors; any HTTP status is a
  // response. A request on a reused connection that fails before an answer is retried once on a
  // new connection.
  boost::system::result<response, error> send(blob_request r);

  const storage_account& account() const { return account_; }

private:
  struct impl;
  client(storage_account account, client_options options);
  storage_account account_;
  client_options options_;
  std::unique_ptr<impl> impl_;
};

// The client and container of a blob store (checkpoints, ownership): `location` is a connection
// string or an account URL (parse_storage_location; a container in it wins over `container`),
// whose container name must be valid. `what` names the store in errors.
struct container_client {
  std::unique_ptr<client> http;
  std::string container;
};
boost::system::result<container_client, error> open_container(std::string_view location, std::string container,
                                                              client_options options, std::string_view what);

}  // namespace iomt::transport::amqp::eventhubs::blob
