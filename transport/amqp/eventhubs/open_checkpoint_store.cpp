#include "transport/amqp/eventhubs/open_checkpoint_store.hpp"

namespace iomt::transport::amqp::eventhubs {

std::optional<checkpoint_kind> parse_checkpoint_kind(std::string_view text) {
  if (text == "file") return checkpoint_kind::file;
  if (text == "blob") return checkpoint_kind::blob;
  return std::nullopt;
}

std::pair<std::unique_ptr<checkpoint_store>, error> open_checkpoint_store(const checkpoint_options& options,
                                                                          const std::string& ns, const std::string& hub,
                                                                          const std::string& group) {
  if (options.kind == checkpoint_kind::blob) {
    auto [s, err] = blob_checkpoint_store::open(options.blob, ns, hub, group);
    return {std::move(s), std::move(err)};
  }
  auto [s, err] = file_checkpoint_store::open(checkpoint_file(options.file_dir, ns, hub, group), ns, hub, group);
  return {std::move(s), std::move(err)};
}

background_flush_store::background_flush_store(checkpoint_store& inner) : inner_(inner), thread_([this] { run(); }) {}

background_flush_store::~background_flush_store() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

error background_flush_store::flush() {
  std::lock_guard l(mu_);
  requested_ = true;
  cv_.notify_all();
  return std::exchange(last_, error{});
}

void background_flush_store::run() {
  std::unique_lock l(mu_);
  while (true) {
    cv_.wait(l, [&] { return requested_ || stopping_; });
    if (!requested_) return;  // stopping with nothing pending
    requested_ = false;
    l.unlock();
    error err = inner_.flush();
    l.lock();
    if (err) last_ = std::move(err);
  }
}

}  // namespace iomt::transport::amqp::eventhubs
