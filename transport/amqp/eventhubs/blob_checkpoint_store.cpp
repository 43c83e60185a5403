#include "transport/amqp/eventhubs/blob_checkpoint_store.hpp"

#include <charconv>

namespace iomt::transport::amqp::eventhubs {

namespace {

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc{} || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

blob_checkpoint_store::blob_checkpoint_store(std::unique_ptr<blob::client> http, std::string container, std::string ns,
                                             std::string hub, std::string group)
    : http_(std::move(http)),
      container_(std::move(container)),
      ns_(std::move(ns)),
      hub_(std::move(hub)),
      group_(std::move(group)) {}

std::pair<std::unique_ptr<blob_checkpoint_store>, error> blob_checkpoint_store::open(blob_store_options options,
                                                                                     std::string ns, std::string hub,
                                                                                     std::string group) {
  using out = std::pair<std::unique_ptr<blob_checkpoint_store>, error>;
  auto opened =
      blob::open_container(options.connection_string, options.container, options.http, "blob checkpoint store");
  if (!opened) return out{nullptr, opened.error()};
  std::unique_ptr<blob_checkpoint_store> s(new blob_checkpoint_store(
      std::move(opened->http), std::move(opened->container), std::move(ns), std::move(hub), std::move(group)));
  std::lock_guard f(s->flush_mu_);
  if (auto err = s->load()) return out{nullptr, std::move(err)};
  return out{std::move(s), error{}};
}

std::string blob_checkpoint_store::blob_name(const std::string& partition) const {
  return blob::checkpoint_blob_name(ns_, hub_, group_, partition);
}

std::string blob_checkpoint_store::describe(const std::string& partition) const {
  return "checkpoint blob '" + blob_name(partition) + "' in container '" + container_ + "' at " +
         http_->account().endpoint();
}

error blob_checkpoint_store::create_container() {
  blob::blob_request r;
  r.method = "PUT";
  r.path = http_->account().base_path + "/" + container_;
  r.query = {{"restype", "container"}};
  auto res = http_->send(std::move(r));
  if (!res) return res.error();
  if (res->status == 201 || res->status == 409) return {};  // created, or someone else just did
  return blob::http_error(*res, "creating container '" + container_ + "' at " + http_->account().endpoint());
}

error blob_checkpoint_store::load() {
  const std::string prefix = blob::checkpoint_prefix(ns_, hub_, group_);
  std::string marker;
  bool created = false;
  std::map<std::string, entry> found;
  for (int page = 0; page < 10000; ++page) {
    blob::blob_request r;
    r.method = "GET";
    r.path = http_->account().base_path + "/" + container_;
    r.query = {{"restype", "container"}, {"comp", "list"}, {"prefix", prefix}, {"include", "metadata"}};
    if (!marker.empty()) r.query.emplace_back("marker", marker);
    auto res = http_->send(std::move(r));
    if (!res) return res.error();
    if (res->status == 404 && !created) {  // ContainerNotFound: create it; nothing to read
      if (auto err = create_container()) return err;
      created = true;
      break;
    }
    if (res->status != 200)
      return blob::http_error(
          *res, "listing '" + prefix + "' in container '" + container_ + "' at " + http_->account().endpoint());
    auto listing = blob::parse_blob_listing(res->body);
    if (!listing) return listing.error();
    for (const auto& b : listing->blobs) {
      if (b.name.rfind(prefix, 0) != 0) continue;
      const std::string id = b.name.substr(prefix.size());
      if (id.empty() || id.find('/') != std::string::npos) continue;
      entry e;
      e.etag = b.etag;
      // A blob without (valid) metadata still counts as seen: its ETag guards the first write.
      if (auto o = to_int(b.offset)) e.value.offset = *o;
      if (auto q = to_int(b.sequence_number)) e.value.sequence_number = *q;
      found[id] = std::move(e);
    }
    marker = listing->next_marker;
    if (marker.empty()) break;
  }
  std::lock_guard l(mu_);
  partitions_ = std::move(found);
  return {};
}

std::optional<checkpoint> blob_checkpoint_store::get(const std::string& partition) {
  std::lock_guard l(mu_);
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.value.offset < 0) return std::nullopt;
  return it->second.value;
}

void blob_checkpoint_store::update(const std::string& partition, const checkpoint& c) {
  std::lock_guard l(mu_);
  auto& cur = partitions_[partition];
  if (c.sequence_number >= 0 && cur.value.sequence_number >= 0 && c.sequence_number <= cur.value.sequence_number)
    return;  // never backwards (late completions of an earlier connection)
  cur.value = c;
  cur.dirty = true;
}

error blob_checkpoint_store::refresh(const std::string& partition) {
  std::lock_guard f(flush_mu_);
  blob::blob_request h;
  h.method = "HEAD";
  h.path = http_->account().base_path + "/" + container_ + "/" + blob::encode_path(blob_name(partition));
  auto res = http_->send(std::move(h));
  if (!res) return {res.error().code, describe(partition) + ": " + res.error().detail};
  if (res->status != 200 && res->status != 404) return blob::http_error(*res, describe(partition));
  std::lock_guard l(mu_);
  auto& e = partitions_[partition];
  e.lost = false;
  e.lost_reason.clear();
  e.unconfirmed.reset();
  if (res->status == 404) {
    e.etag.clear();
    return {};
  }
  e.etag = res->etag;
  const auto off = to_int(res->offset);
  const auto seq = to_int(res->sequence_number);
  if (off && seq && *seq > e.value.sequence_number) {
    e.value = checkpoint{*off, *seq};
    e.dirty = false;
  }
  return {};
}

std::vector<std::string> blob_checkpoint_store::lost_partitions() const {
  std::lock_guard l(mu_);
  std::vector<std::string> out;
  for (const auto& [id, e] : partitions_)
    if (e.lost) out.push_back(id);
  return out;
}

error blob_checkpoint_store::write(const std::string& partition, const checkpoint& c, std::string etag,
                                   std::string& new_etag, bool& conflict) {
  conflict = false;
  blob::blob_request r;
  r.method = "PUT";
  r.path = http_->account().base_path + "/" + container_ + "/" + blob::encode_path(blob_name(partition));
  r.headers = {{"x-ms-blob-type", "BlockBlob"},
               {"x-ms-meta-offset", std::to_string(c.offset)},
               {"x-ms-meta-sequencenumber", std::to_string(c.sequence_number)}};
  if (etag.empty())
    r.headers.emplace_back("If-None-Match", "*");
  else
    r.headers.emplace_back("If-Match", etag);
  auto res = http_->send(std::move(r));
  if (!res) return {res.error().code, describe(partition) + ": " + res.error().detail};
  if (res->status == 201 || res->status == 200) {
    new_etag = res->etag;
    return {};
  }
  // 412 ConditionNotMet (If-Match), 409 BlobAlreadyExists (If-None-Match: *).
  if (res->status == 412 || (res->status == 409 && etag.empty())) {
    conflict = true;
    return {errc::management_error, describe(partition) + ": " + blob::status_text(*res) +
                                        ": another writer changed it (ownership lost: is another replica reading "
                                        "partition " +
                                        partition + "?); this replica no longer checkpoints it"};
  }
  return blob::http_error(*res, describe(partition));
}

error blob_checkpoint_store::flush() {
  std::lock_guard f(flush_mu_);
  struct job {
    std::string id;
    checkpoint value;
    std::string etag;
    std::optional<checkpoint> unconfirmed;
  };
  std::vector<job> jobs;
  error first;
  {
    std::lock_guard l(mu_);
    for (auto& [id, e] : partitions_) {
      if (e.lost) {
        if (!first) first = {errc::management_error, e.lost_reason};
        continue;
      }
      if (!e.dirty) continue;
      jobs.push_back({id, e.value, e.etag, e.unconfirmed});
      e.dirty = false;
    }
  }
  for (auto& j : jobs) {
    std::string new_etag;
    bool conflict = false;
    error err = write(j.id, j.value, j.etag, new_etag, conflict);
    if (conflict && shared_) {
      // Another owner of this partition wrote it (a hand-over): advance it only if we are ahead.
      blob::blob_request h;
      h.method = "HEAD";
      h.path = http_->account().base_path + "/" + container_ + "/" + blob::encode_path(blob_name(j.id));
      auto res = http_->send(std::move(h));
      if (res && res->status == 200) {
        const auto seq = to_int(res->sequence_number);
        if (seq && *seq >= j.value.sequence_number) {  // already further along: nothing to write
          new_etag = res->etag;
          err = {};
        } else {
          err = write(j.id, j.value, res->etag, new_etag, conflict);
        }
      } else if (res && res->status == 404) {
        err = write(j.id, j.value, "", new_etag, conflict);
      }
      if (conflict) {  // raced again: try at the next flush, never latched
        conflict = false;
        err = {errc::management_error, describe(j.id) + ": changed by another writer again; retried at the next flush"};
      }
    } else if (conflict && j.unconfirmed) {
      // Our previous write may have landed without us hearing the answer: if the blob holds it,
      // take its ETag and write again.
      blob::blob_request h;
      h.method = "HEAD";
      h.path = http_->account().base_path + "/" + container_ + "/" + blob::encode_path(blob_name(j.id));
      auto res = http_->send(std::move(h));
      if (res && res->status == 200 && to_int(res->offset) == j.unconfirmed->offset &&
          to_int(res->sequence_number) == j.unconfirmed->sequence_number) {
        err = write(j.id, j.value, res->etag, new_etag, conflict);
      }
    }
    std::lock_guard l(mu_);
    auto& e = partitions_[j.id];
    if (!err) {
      e.etag = new_etag;
      e.unconfirmed.reset();
      continue;
    }
    if (conflict) {
      e.lost = true;
      e.lost_reason = err.detail;
    } else {
      e.dirty = true;  // try again at the next flush
      if (err.code == errc::timeout || err.code == errc::connection_lost) e.unconfirmed = j.value;
    }
    if (!first) first = std::move(err);
  }
  return first;
}

}  // namespace iomt::transport::amqp::eventhubs
