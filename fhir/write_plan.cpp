#include "fhir/write_plan.hpp"

#include "fhir/errors.hpp"
#include "fhir/retry.hpp"
#include "fhir/search.hpp"
#include "mapping/json/writer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <unordered_map>

namespace iomt::fhir {

namespace http = boost::beast::http;

namespace {

void append_string(std::string& out, std::string_view s) { json::write_string(s, out); }

// Bundle.entry.response.status: "200", "201 Created", "412 Precondition Failed" -> the code.
unsigned status_of(const boost::json::object& response) {
  const std::string_view s = string_member(response, "status");
  unsigned code = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), code);
  if (ec != std::errc() || code < 100 || code > 599 || (end != s.data() + s.size() && *end != ' ')) return 0;
  return code;
}

std::string what_of(const plan_request& request, const entry_answer& answer) {
  std::string what = describe(request);
  if (answer.in_bundle) what += " (batch entry)";
  return what;
}

std::string unreadable_cause(const entry_answer& answer, std::string_view fallback) {
  return answer.cause.empty() ? std::string(fallback) : answer.cause;
}

mapping::mapping_error unreadable_reply(std::string_view why) {
  return client_error("POST [base] (batch)", "the batch response cannot be read: " + std::string(why),
                      mapping::failure_class::transient);
}

// Moves the entry's resource out of the parsed reply (no copy).
entry_answer entry_of(boost::json::value& v) {
  entry_answer a;
  a.in_bundle = true;
  auto* entry = v.if_object();
  if (!entry) {
    a.cause = "the batch response entry is not an object";
    return a;
  }
  if (auto* r = entry->if_contains("resource"); r && r->is_object()) a.resource = std::move(r->get_object());
  const auto* resp = entry->if_contains("response");
  if (!resp || !resp->is_object()) {
    a.cause = "no response in the batch response entry";
    return a;
  }
  const boost::json::object& response = resp->get_object();
  a.status = status_of(response);
  if (a.status == 0) {
    a.cause = "no status in the batch response entry";
    return a;
  }
  a.etag = std::string(string_member(response, "etag"));
  if (a.status < 200 || a.status > 299) {
    a.cause = status_text(a.status);
    const boost::json::object* oo = nullptr;
    if (const auto* o = response.if_contains("outcome"); o && o->is_object()) oo = &o->get_object();
    if (!oo && a.resource) oo = &*a.resource;  // some servers
    if (oo && string_member(*oo, "resourceType") == "OperationOutcome") {
      std::string text;
      json::write(*oo, text);
      if (std::string o = operation_outcome_text(text); !o.empty()) a.cause += ": " + o;
    }
  }
  return a;
}

// W/"abc" or "abc" -> abc
std::string_view version_of_etag(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

}  // namespace

std::string describe(const plan_request& request) {
  const auto m = http::to_string(request.method);
  std::string out(m.data(), m.size());
  out += ' ';
  out += request.url;
  return out;
}

std::vector<planned_round> plan_rounds(std::span<const plan_request> requests, std::size_t max_entries) {
  const std::size_t cap = std::max<std::size_t>(max_entries, 1);
  std::vector<std::vector<std::size_t>> by_round;
  std::unordered_map<std::string_view, std::size_t> seen;  // key -> requests so far
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::string& key = requests[i].key;
    const std::size_t r = key.empty() ? 0 : seen[key]++;
    if (by_round.size() <= r) by_round.resize(r + 1);
    by_round[r].push_back(i);
  }
  std::vector<planned_round> rounds;
  rounds.reserve(by_round.size());
  for (const auto& indices : by_round) {
    planned_round round;
    for (std::size_t begin = 0; begin < indices.size(); begin += cap) {
      const std::size_t end = std::min(indices.size(), begin + cap);
      round.emplace_back(indices.begin() + static_cast<std::ptrdiff_t>(begin),
                         indices.begin() + static_cast<std::ptrdiff_t>(end));
    }
    rounds.push_back(std::move(round));
  }
  return rounds;
}

std::string batch_body(std::span<const plan_request> requests, std::span<const std::size_t> entries) {
  std::string out = R"({"resourceType":"Bundle","type":"batch","entry":[)";
  bool first = true;
  for (std::size_t i : entries) {
    const plan_request& r = requests[i];
    if (!first) out += ',';
    first = false;
    out += '{';
    if (r.resource) {
      out += R"("resource":)";
      json::write(*r.resource, out);
      out += ',';
    }
    out += R"("request":{"method":)";
    const auto m = http::to_string(r.method);
    append_string(out, std::string_view(m.data(), m.size()));
    out += R"(,"url":)";
    append_string(out, r.url);
    if (!r.if_match_version.empty()) {
      out += R"(,"ifMatch":)";
      append_string(out, weak_etag(r.if_match_version));
    }
    out += "}}";
  }
  out += "]}";
  return out;
}

batch_reply read_batch_reply(unsigned status, std::string_view body, std::size_t entry_count, std::string_view cause) {
  batch_reply reply;
  if (status == 404 || status == 405 || status == 501) {
    reply.verdict = batch_verdict::unsupported;
    return reply;
  }
  if (status < 200 || status > 299) {
    const mapping::failure_class cls = status_class(status);
    if (cls == mapping::failure_class::permanent) {
      reply.verdict = batch_verdict::refused;
      return reply;
    }
    reply.verdict = batch_verdict::failed;
    reply.failure = status_error("POST [base] (batch)", status, cause.empty() ? status_text(status) : cause);
    return reply;
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    reply.failure = unreadable_reply("not a JSON object");
    return reply;
  }
  boost::json::object& bundle = v.get_object();
  if (string_member(bundle, "resourceType") != "Bundle") {
    reply.failure = unreadable_reply("not a Bundle");
    return reply;
  }
  auto* e = bundle.if_contains("entry");
  const std::size_t got = e && e->is_array() ? e->get_array().size() : 0;
  if (got != entry_count) {
    reply.failure = unreadable_reply(std::to_string(got) + " entries for " + std::to_string(entry_count) + " requests");
    return reply;
  }
  reply.verdict = batch_verdict::processed;
  reply.entries.reserve(got);
  if (got) {
    for (auto& entry : e->get_array()) reply.entries.push_back(entry_of(entry));
  }
  return reply;
}

entry_answer single_answer(unsigned status, std::string_view body, std::string etag, std::string cause) {
  entry_answer a;
  a.status = status;
  a.etag = std::move(etag);
  a.cause = std::move(cause);
  if (!body.empty()) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(body, ec);
    if (!ec && v.is_object()) a.resource = std::move(v.get_object());
  }
  return a;
}

bool retryable_status(unsigned status) noexcept {
  return status == 408 || status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505);
}

search_fold fold_search(const entry_answer& answer, const plan_request& request) {
  search_fold out;
  if (answer.failure) {
    out.found = *answer.failure;
    return out;
  }
  const std::string what = what_of(request, answer);
  if (answer.status == 0) {
    out.found = client_error(what, unreadable_cause(answer, "no answer"), mapping::failure_class::transient);
    return out;
  }
  if (answer.status != 200) {
    out.found = status_error(what, answer.status, answer.cause.empty() ? status_text(answer.status) : answer.cause);
    return out;
  }
  if (!answer.resource) {
    out.found = client_error(what, "unexpected response: not a Bundle", mapping::failure_class::transient);
    return out;
  }
  auto page = parse_search_bundle(*answer.resource);
  if (!page) {
    out.found = client_error(what, "unexpected response: not a Bundle", mapping::failure_class::transient);
    return out;
  }
  const bool partial = page->next || (page->total && *page->total > static_cast<std::int64_t>(page->resources.size()) &&
                                      !page->resources.empty());
  if (partial) {
    out.more_pages = true;
    return out;
  }
  out.found = std::move(page->resources);
  return out;
}

write_fold fold_write(entry_answer answer, const plan_request& request) {
  write_fold out;
  out.status = answer.status;
  if (answer.failure) {
    out.error = *answer.failure;
    return out;
  }
  const std::string what = what_of(request, answer);
  if (answer.status == 0) {
    out.error = client_error(what, unreadable_cause(answer, "no answer"), mapping::failure_class::transient);
    return out;
  }
  const bool if_match = !request.if_match_version.empty();
  if (answer.status == 409 || answer.status == 412 || (if_match && (answer.status == 404 || answer.status == 410))) {
    out.kind = write_kind::conflict;
    return out;
  }
  if (answer.status < 200 || answer.status > 299) {
    out.error = status_error(what, answer.status, answer.cause.empty() ? status_text(answer.status) : answer.cause);
    return out;
  }
  out.kind = write_kind::written;
  const std::string_view type = request.resource ? string_member(*request.resource, "resourceType") : "";
  if (answer.resource && !type.empty() && string_member(*answer.resource, "resourceType") == type) {
    out.resource = std::move(answer.resource);
  } else if (request.resource && !answer.etag.empty()) {
    // No resource in the answer (Prefer: return=minimal servers): ours, stamped with the version.
    out.resource = *request.resource;
    auto& meta = (*out.resource)["meta"];
    if (!meta.is_object()) meta = boost::json::object();
    meta.get_object()["versionId"] = version_of_etag(answer.etag);
  }
  return out;
}

std::vector<std::vector<std::size_t>> chains_by_key(std::span<const std::string> keys) {
  std::vector<std::vector<std::size_t>> chains;
  std::unordered_map<std::string_view, std::size_t> chain_of;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto [it, fresh] = chain_of.try_emplace(keys[i], chains.size());
    if (fresh) chains.emplace_back();
    chains[it->second].push_back(i);
  }
  return chains;
}

}  // namespace iomt::fhir
