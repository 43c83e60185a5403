// TLS for the listeners iomtflow opens (the ingest port, issue 15): the server-side half of the
// one TLS factory (tls_context.hpp is the client side), and the reloading holder of a server
// context.
//
//   cert_file        PEM certificate chain (leaf first), e.g. cert-manager's tls.crt
//   key_file         PEM private key of the leaf (tls.key)
//   client_ca_file   optional: PEM CA certificates (ca.crt); when set, every client must present a
//                    certificate that chains to one of them (mutual TLS), else the handshake fails
//   min_version      "1.2" (default) or "1.3"
// Always: no SSLv2/3, TLS 1.0/1.1; TLS 1.2 limited to ECDHE key exchange with AEAD ciphers
// (AES-GCM, ChaCha20-Poly1305: the "intermediate" profile most TLS guides recommend), TLS 1.3
// with OpenSSL's default suites; the server's cipher order; no renegotiation; no compression.
//
// Reload: `reloading_server_context::current()` is called for each new connection. At most once
// per `check_interval` it stats the three files (device, inode, size, modification time: the stat
// follows symlinks, so a Kubernetes Secret volume's atomic `..data` swap counts as a change) and,
// when any differs, builds a new context. Connections keep the context they were accepted with;
// new ones get the new one. A file that is unreadable or does not match (a key that is not the
// certificate's) keeps the previous context and is reported once per change through `on_event`.
// Chosen over inotify: no watch descriptors to manage, works the same on every volume type
// (ConfigMap/Secret symlink swaps, bind mounts, NFS), and costs one stat() per file per interval.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace iomt::net {

struct tls_server_options {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // empty: no client certificates asked for
  std::string min_version = "1.2";
};

// A server context for `options`, or a message saying which file is wrong and why, e.g.
// "cannot load the certificate 'tls.crt': no start line".
boost::system::result<std::shared_ptr<boost::asio::ssl::context>, std::string> make_server_context(
    const tls_server_options& options);

// The TLS 1.2 cipher list the server offers (OpenSSL syntax).
extern const char* const server_cipher_list;

class reloading_server_context {
public:
  // level 0 info (reloaded), 2 error (reload failed; the previous certificate stays).
  using event_fn = std::function<void(int level, const std::string& message, const std::string& detail)>;
  using clock = std::chrono::steady_clock;

  // Loads the files once; an error here is a start-up error.
  static boost::system::result<std::shared_ptr<reloading_server_context>, std::string> create(
      tls_server_options options, event_fn on_event = {},
      std::chrono::milliseconds check_interval = std::chrono::seconds(1));

  // The context for a new connection (thread-safe). May reload first (see above).
  std::shared_ptr<boost::asio::ssl::context> current();
  // Checks the files now, whatever the interval (tests; thread-safe). True when a new context was
  // loaded.
  bool check_now();

  std::uint64_t reloads() const;
  const tls_server_options& options() const noexcept { return options_; }

  struct file_stamp {
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool exists = false;
    bool operator==(const file_stamp&) const = default;
  };

private:
  reloading_server_context(tls_server_options options, event_fn on_event, std::chrono::milliseconds interval);
  std::vector<file_stamp> stamps() const;
  bool reload_locked(std::vector<file_stamp> now);

  tls_server_options options_;
  event_fn on_event_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;  // guards the members below
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::vector<file_stamp> loaded_stamps_;  // of the files context_ was built from
  std::vector<file_stamp> failed_stamps_;  // of the last files that failed (reported once)
  clock::time_point next_check_{};
  std::uint64_t reloads_ = 0;
};

}  // namespace iomt::net
