#include "transport/amqp/eventhubs/checkpoint_store.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace iomt::transport::amqp::eventhubs {

namespace fs = std::filesystem;

std::string checkpoint_file(const std::string& dir, const std::string& ns, const std::string& hub,
                            const std::string& group) {
  std::string name = ns + "_" + hub + "_" + group;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' && c != '$') c = '_';
  return (fs::path(dir) / (name + ".json")).string();
}

file_checkpoint_store::file_checkpoint_store(std::string path, std::string ns, std::string hub, std::string group)
    : path_(std::move(path)), ns_(std::move(ns)), hub_(std::move(hub)), group_(std::move(group)) {}

std::pair<std::unique_ptr<file_checkpoint_store>, error> file_checkpoint_store::open(std::string path, std::string ns,
                                                                                     std::string hub,
                                                                                     std::string group) {
  std::unique_ptr<file_checkpoint_store> s(
      new file_checkpoint_store(std::move(path), std::move(ns), std::move(hub), std::move(group)));
  std::ifstream in(s->path_);
  if (!in) return {std::move(s), error{}};  // no checkpoint yet
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(text.str(), ec);
  auto bad = [&](const std::string& why) {
    return std::pair<std::unique_ptr<file_checkpoint_store>, error>{
        nullptr, error{errc::bad_configuration, "checkpoint file " + s->path_ + ": " + why}};
  };
  if (ec || !doc.is_object()) return bad("not a JSON object");
  const auto& o = doc.as_object();
  auto str = [&](const char* k) -> std::string {
    const auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  if (str("eventhub") != s->hub_ || str("consumer_group") != s->group_)
    return bad("it belongs to event hub '" + str("eventhub") + "', consumer group '" + str("consumer_group") + "'");
  if (const auto* parts = o.if_contains("partitions"); parts && parts->is_object()) {
    for (const auto& [id, v] : parts->as_object()) {
      if (!v.is_object()) continue;
      checkpoint c;
      if (const auto* off = v.as_object().if_contains("offset")) {
        if (off->is_string()) {
          const auto t = off->as_string();
          std::from_chars(t.data(), t.data() + t.size(), c.offset);
        } else if (off->is_int64()) {
          c.offset = off->as_int64();
        }
      }
      if (const auto* seq = v.as_object().if_contains("sequence_number"); seq && seq->is_int64())
        c.sequence_number = seq->as_int64();
      s->partitions_[std::string(id)] = c;
    }
  }
  return {std::move(s), error{}};
}

std::optional<checkpoint> file_checkpoint_store::get(const std::string& partition) {
  std::lock_guard l(mu_);
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return std::nullopt;
  return it->second;
}

void file_checkpoint_store::update(const std::string& partition, const checkpoint& c) {
  std::lock_guard l(mu_);
  auto& cur = partitions_[partition];
  // Never move backwards (late completions of an earlier connection).
  if (c.sequence_number >= 0 && cur.sequence_number >= 0 && c.sequence_number <= cur.sequence_number) return;
  cur = c;
  dirty_ = true;
}

error file_checkpoint_store::flush() {
  std::string text;
  {
    std::lock_guard l(mu_);
    if (!dirty_) return {};
    boost::json::object parts;
    for (const auto& [id, c] : partitions_)
      parts[id] = boost::json::object{{"offset", std::to_string(c.offset)}, {"sequence_number", c.sequence_number}};
    text = boost::json::serialize(boost::json::object{
        {"namespace", ns_}, {"eventhub", hub_}, {"consumer_group", group_}, {"partitions", std::move(parts)}});
    dirty_ = false;
  }
  // Atomic replace: write a temporary file, fsync it, rename it over the old one, fsync the dir.
  const fs::path p(path_);
  std::error_code fec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), fec);
  const std::string tmp = path_ + ".tmp";
  auto fail = [&](const char* what) {
    std::lock_guard l(mu_);
    dirty_ = true;
    return error{errc::bad_configuration, std::string("checkpoint ") + what + " " + tmp + ": " + std::strerror(errno)};
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open");
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return fail("write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return fail("rename");
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace iomt::transport::amqp::eventhubs
