#include "fhir/memory_exchange.hpp"

#include "fhir/errors.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>

namespace iomt::fhir {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view accepted_types[] = {"Patient", "Device", "Encounter"};

mapping::mapping_error resources_error(std::string message) {
  return {"InvalidResourcesException", std::move(message)};
}

std::string next_version(std::string_view current) {
  std::uint64_t n = 0;
  for (char c : current) {
    if (c < '0' || c > '9') return "1";  // an opaque version (the test server uses UUIDs)
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return std::to_string(n + 1);
}

entry_answer answer(unsigned status, std::string cause = {}) {
  entry_answer a;
  a.status = status;
  a.cause = std::move(cause);
  return a;
}

}  // namespace

mapping::result<std::vector<boost::json::object>> read_resources(std::string_view json_text) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(json_text, ec);
  if (ec) return resources_error("the resources are not JSON: " + ec.message());
  const boost::json::array* items = nullptr;
  boost::json::array from_bundle;
  std::string where = "[";
  if (doc.is_array()) {
    items = &doc.get_array();
  } else if (doc.is_object() && string_member(doc.get_object(), "resourceType") == "Bundle") {
    where = "entry[";
    if (const auto* e = doc.get_object().if_contains("entry"); e && e->is_array()) {
      for (std::size_t i = 0; i < e->get_array().size(); ++i) {
        const auto* eo = e->get_array()[i].if_object();
        const auto* r = eo ? eo->if_contains("resource") : nullptr;
        if (!r) return resources_error("entry[" + std::to_string(i) + "] has no resource");
        from_bundle.push_back(*r);
      }
    } else if (doc.get_object().contains("entry")) {
      return resources_error("Bundle.entry must be an array");
    }
    items = &from_bundle;
  } else {
    return resources_error("the resources must be a FHIR Bundle or a JSON array of resources");
  }
  std::vector<boost::json::object> out;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const std::string at = where + std::to_string(i) + "]";
    const auto* r = (*items)[i].if_object();
    if (!r) return resources_error(at + " is not a resource (a JSON object)");
    const std::string_view type = string_member(*r, "resourceType");
    if (std::find(std::begin(accepted_types), std::end(accepted_types), type) == std::end(accepted_types))
      return resources_error(at + ": resourceType '" + std::string(type) +
                             "' is not one identity resolution reads (Patient, Device, Encounter)");
    if (string_member(*r, "id").empty()) return resources_error(at + " (" + std::string(type) + ") has no id");
    out.push_back(*r);
  }
  return out;
}

mapping::result<void> memory_exchange::add(boost::json::object resource) {
  const std::string type(string_member(resource, "resourceType"));
  const std::string id(string_member(resource, "id"));
  if (type.empty() || id.empty()) return resources_error("a resource needs resourceType and id");
  if (version_id(resource).empty()) {
    auto& meta = resource["meta"];
    if (!meta.is_object()) meta = boost::json::object();
    meta.get_object()["versionId"] = "1";
  }
  auto [it, fresh] = index_.try_emplace(type + "/" + id, resources_.size());
  if (fresh)
    resources_.push_back(std::move(resource));
  else
    resources_[it->second] = std::move(resource);
  return {};
}

std::vector<const boost::json::object*> memory_exchange::all_of(std::string_view type) const {
  std::vector<const boost::json::object*> out;
  for (const auto& r : resources_)
    if (string_member(r, "resourceType") == type) out.push_back(&r);
  return out;
}

entry_answer memory_exchange::search_here(const plan_request& request,
                                          std::vector<boost::json::object> from_server) const {
  const auto search = decode_identifier_query(request.url);
  if (!search) return answer(400, "400 Bad Request: only identifier searches are answered here");
  std::vector<boost::json::object> found = std::move(from_server);
  for (const auto& r : resources_) {
    if (string_member(r, "resourceType") != search->type || !matches_identifier(r, *search)) continue;
    const std::string_view id = string_member(r, "id");
    auto same = std::find_if(found.begin(), found.end(), [&](const auto& f) { return string_member(f, "id") == id; });
    if (same != found.end())
      *same = r;  // ours is newer (Create mode wrote it)
    else
      found.push_back(r);
  }
  boost::json::array entries;
  for (auto& r : found) entries.push_back(boost::json::object{{"resource", std::move(r)}});
  entry_answer a = answer(200);
  a.resource = boost::json::object{
      {"resourceType", "Bundle"}, {"type", "searchset"}, {"total", entries.size()}, {"entry", std::move(entries)}};
  return a;
}

entry_answer memory_exchange::put_here(const plan_request& request) {
  if (!request.resource) return answer(400, "400 Bad Request: a PUT without a resource");
  boost::json::object r = *request.resource;
  const std::string type(string_member(r, "resourceType"));
  const std::string id(string_member(r, "id"));
  if (type.empty() || id.empty() || request.url != type + "/" + id)
    return answer(400, "400 Bad Request: the resource's type and id do not match " + request.url);
  auto it = index_.find(request.url);
  std::string version = "1";
  if (it != index_.end()) {
    const std::string_view current = version_id(resources_[it->second]);
    if (!request.if_match_version.empty() && request.if_match_version != current)
      return answer(412, "412 Precondition Failed: the resource changed (version " + std::string(current) + ")");
    version = next_version(current);
  } else if (!request.if_match_version.empty()) {
    // A resource read from the live server: this is its next version, kept here only.
    version = next_version(request.if_match_version);
  }
  auto& meta = r["meta"];
  if (!meta.is_object()) meta = boost::json::object();
  meta.get_object()["versionId"] = version;
  const bool created = it == index_.end();
  if (created) {
    index_.emplace(request.url, resources_.size());
    resources_.push_back(r);
  } else {
    resources_[it->second] = r;
  }
  written_.push_back(request.url);
  entry_answer a = answer(created ? 201 : 200);
  a.etag = weak_etag(version);
  a.resource = std::move(r);
  return a;
}

boost::asio::awaitable<std::vector<entry_answer>> memory_exchange::send(std::span<const plan_request> requests) {
  std::vector<entry_answer> answers(requests.size());
  // The searches first go to the live server, all at once (PUTs never do).
  std::vector<std::vector<boost::json::object>> from_server(requests.size());
  if (read_through_) {
    std::vector<plan_request> gets;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < requests.size(); ++i)
      if (requests[i].method == http::verb::get) {
        gets.push_back(requests[i]);
        which.push_back(i);
      }
    if (!gets.empty()) {
      server_searches_ += gets.size();
      std::vector<entry_answer> live = co_await read_through_->send(gets);
      for (std::size_t k = 0; k < gets.size(); ++k) {
        search_fold f = co_await read_through_->complete_search(gets[k], live[k]);
        if (!f.found) {
          answers[which[k]].failure = f.found.error();
          continue;
        }
        from_server[which[k]] = std::move(*f.found);
      }
    }
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (answers[i].failure) continue;
    if (requests[i].method == http::verb::get)
      answers[i] = search_here(requests[i], std::move(from_server[i]));
    else if (requests[i].method == http::verb::put)
      answers[i] = put_here(requests[i]);
    else
      answers[i] = answer(405, "405 Method Not Allowed");
  }
  co_return answers;
}

boost::asio::awaitable<search_fold> memory_exchange::complete_search(const plan_request& request,
                                                                     const entry_answer& answer) {
  co_return fold_search(answer, request);  // never paged
}

}  // namespace iomt::fhir
