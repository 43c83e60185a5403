#include "transport/amqp/eventhubs/blob_ownership_store.hpp"

namespace iomt::transport::amqp::eventhubs {

blob_ownership_store::blob_ownership_store(std::unique_ptr<blob::client> http, std::string container, std::string ns,
                                           std::string hub, std::string group)
    : http_(std::move(http)),
      container_(std::move(container)),
      ns_(std::move(ns)),
      hub_(std::move(hub)),
      group_(std::move(group)) {}

std::pair<std::unique_ptr<blob_ownership_store>, error> blob_ownership_store::open(const blob_store_options& options,
                                                                                   std::string ns, std::string hub,
                                                                                   std::string group) {
  using out = std::pair<std::unique_ptr<blob_ownership_store>, error>;
  auto opened =
      blob::open_container(options.connection_string, options.container, options.http, "blob ownership store");
  if (!opened) return out{nullptr, opened.error()};
  return out{
      std::unique_ptr<blob_ownership_store>(new blob_ownership_store(
          std::move(opened->http), std::move(opened->container), std::move(ns), std::move(hub), std::move(group))),
      error{}};
}

std::string blob_ownership_store::blob_name(const std::string& partition) const {
  return blob::ownership_blob_name(ns_, hub_, group_, partition);
}

boost::system::result<std::vector<ownership_record>, error> blob_ownership_store::list() {
  const std::string prefix = blob::ownership_prefix(ns_, hub_, group_);
  std::vector<ownership_record> out;
  std::string marker;
  for (int page = 0; page < 10000; ++page) {
    blob::blob_request r;
    r.method = "GET";
    r.path = http_->account().base_path + "/" + container_;
    r.query = {{"restype", "container"}, {"comp", "list"}, {"prefix", prefix}, {"include", "metadata"}};
    if (!marker.empty()) r.query.emplace_back("marker", marker);
    auto res = http_->send(std::move(r));
    if (!res) return res.error();
    if (res->status == 404) {  // ContainerNotFound: create it; nobody owns anything yet
      blob::blob_request c;
      c.method = "PUT";
      c.path = http_->account().base_path + "/" + container_;
      c.query = {{"restype", "container"}};
      auto created = http_->send(std::move(c));
      if (!created) return created.error();
      if (created->status != 201 && created->status != 409)
        return blob::http_error(*created, "creating container '" + container_ + "' at " + http_->account().endpoint());
      return out;
    }
    if (res->status != 200)
      return blob::http_error(*res, "listing ownership '" + prefix + "' in container '" + container_ + "' at " +
                                        http_->account().endpoint());
    auto listing = blob::parse_blob_listing(res->body);
    if (!listing) return listing.error();
    for (const auto& b : listing->blobs) {
      if (b.name.rfind(prefix, 0) != 0) continue;
      ownership_record rec;
      rec.partition = b.name.substr(prefix.size());
      if (rec.partition.empty() || rec.partition.find('/') != std::string::npos) continue;
      rec.owner = b.owner_id;
      rec.etag = b.etag;
      rec.last_modified_ms = blob::parse_rfc1123(b.last_modified).value_or(-1);
      out.push_back(std::move(rec));
    }
    marker = listing->next_marker;
    if (marker.empty()) break;
  }
  return out;
}

claim_outcome blob_ownership_store::claim(const std::string& partition, const std::string& owner,
                                          const std::string& etag) {
  claim_outcome out;
  blob::blob_request r;
  r.method = "PUT";
  r.path = http_->account().base_path + "/" + container_ + "/" + blob::encode_path(blob_name(partition));
  r.headers = {{"x-ms-blob-type", "BlockBlob"}, {"x-ms-meta-ownerid", owner}};
  if (etag.empty())
    r.headers.emplace_back("If-None-Match", "*");
  else
    r.headers.emplace_back("If-Match", etag);
  const std::string where = "ownership blob '" + blob_name(partition) + "' in container '" + container_ + "' at " +
                            http_->account().endpoint();
  auto res = http_->send(std::move(r));
  if (!res) {
    out.failure = {res.error().code, where + ": " + res.error().detail};
    return out;
  }
  if (res->status == 201 || res->status == 200) {
    out.claimed = true;
    out.record.partition = partition;
    out.record.owner = owner;
    out.record.etag = res->etag;
    out.record.last_modified_ms = blob::parse_rfc1123(res->last_modified).value_or(-1);
    return out;
  }
  // 412 ConditionNotMet (If-Match), 409 BlobAlreadyExists (If-None-Match: *), 404: deleted since listed.
  if (res->status == 412 || res->status == 409 || res->status == 404) {
    out.conflict = true;
    return out;
  }
  out.failure = blob::http_error(*res, where);
  return out;
}

}  // namespace iomt::transport::amqp::eventhubs
