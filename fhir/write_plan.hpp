// One write plan per flush (issue 11): the FHIR requests a shard's flush needs, planned into
// `batch` Bundles, and the server's answers read back into per-request outcomes. Sans-io (STYLE
// habit 1): no sockets, no clocks; fhir/batch_exchange.* is the thin driver that sends the plan.
//
// A flush needs many independent requests: the identifier searches of Observations the cache does
// not hold, the Device/Patient lookups and creates of identity resolution (iomt-spec §11) and the
// PUTs of new or merged Observations (§12). Each is a plan_request with an order key:
//   plan_rounds()       requests sharing a key go into successive rounds, in input order; each
//                       round is cut into Bundles of at most max_entries entries;
//   batch_body()        the wire text of one Bundle;
//   read_batch_reply()  the server's answer to a Bundle -> one entry_answer per request, or why
//                       the Bundle as a whole was not processed (unsupported, refused, failed);
//   fold_search()       an entry answer -> the resources of a complete search (or "more pages");
//   fold_write()        an entry answer -> written / version conflict / failed.
// Failure classes are decided here, once (issue 12): an HTTP status -> status_class, a batch
// entry's own status -> its class, an answer that cannot be read -> transient.
#pragma once

#include "mapping/error.hpp"

#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::fhir {

// One FHIR interaction of a flush.
struct plan_request {
  boost::beast::http::verb method = boost::beast::http::verb::get;  // get (search) or put
  std::string url;                              // relative to the base: "Device?identifier=..", "Observation/<id>"
  std::optional<boost::json::object> resource;  // put: the body
  std::string if_match_version;                 // put: sent as If-Match W/"<version>" when not empty
  std::string key;  // order key: requests sharing one are never in the same round ("" = none)
};

// "GET Observation?identifier=..." / "PUT Observation/<id>" for messages.
std::string describe(const plan_request& request);

// Request indices in Bundle order.
using planned_bundle = std::vector<std::size_t>;
// Bundles that may be sent at the same time.
using planned_round = std::vector<planned_bundle>;

// Round r holds the (r+1)-th request of every key (requests without a key: round 0), in input
// order, cut into Bundles of at most max(max_entries, 1) entries. Every request is in exactly one
// Bundle; later rounds must wait for the answers of earlier ones.
std::vector<planned_round> plan_rounds(std::span<const plan_request> requests, std::size_t max_entries);

// The `batch` Bundle of `entries` (indices into `requests`), as JSON text: resources are written
// with iomtflow's .NET-style numbers (mapping/json/writer.hpp), ifMatch as W/"<version>".
std::string batch_body(std::span<const plan_request> requests, std::span<const std::size_t> entries);

// What became of one request: its Bundle entry's response, or the answer to it sent alone.
struct entry_answer {
  unsigned status = 0;                            // 0: no status (see failure, else unreadable)
  std::optional<boost::json::object> resource;    // entry.resource / the JSON object body
  std::string etag;                               // entry.response.etag / the ETag header
  std::string cause;                              // "412 Precondition Failed: <OperationOutcome text>"
  std::optional<mapping::mapping_error> failure;  // no answer: network, the whole Bundle failed, ...
  bool in_bundle = false;                         // answered inside a batch Bundle
};

enum class batch_verdict {
  processed,    // 2xx with one entry per request: `entries`
  unsupported,  // 404 / 405 / 501: the server has no batch interaction; send the requests alone
  refused,      // another 4xx for the Bundle as a whole (one invalid resource, too large, ...):
                // send the requests alone, which pins the error on the right one
  failed,       // 401/403, 408/429/5xx after the client's retries, or a 2xx that cannot be read:
                // `failure` (classified) stands for every entry
};

struct batch_reply {
  batch_verdict verdict = batch_verdict::failed;
  std::optional<mapping::mapping_error> failure;
  std::vector<entry_answer> entries;  // processed: parallel to the Bundle's entries
};

// The server's final answer to a batch Bundle of `entry_count` entries. `cause` describes an
// unsuccessful status ("503 Service Unavailable: ... (gave up after 6 attempts)").
batch_reply read_batch_reply(unsigned status, std::string_view body, std::size_t entry_count,
                             std::string_view cause = {});

// The answer to a request sent alone: `body` is kept as `resource` when it is a JSON object.
entry_answer single_answer(unsigned status, std::string_view body, std::string etag, std::string cause);

// 408, 429 and 5xx other than 501/505: worth sending again (retry.hpp's rule for whole requests).
bool retryable_status(unsigned status) noexcept;

// A search's answer: the resources (entry[].resource of the searchset), or `more_pages` when the
// server paged the result (the caller searches again following the pages), or the error.
struct search_fold {
  mapping::result<std::vector<boost::json::object>> found = std::vector<boost::json::object>{};
  bool more_pages = false;
};
search_fold fold_search(const entry_answer& answer, const plan_request& request);

enum class write_kind {
  written,   // 2xx
  conflict,  // 409 / 412, or 404 / 410 to a PUT with If-Match (the matched version is gone):
             // re-read and merge again (iomt-spec §12 step 5)
  failed,    // `error`, classified
};

struct write_fold {
  write_kind kind = write_kind::failed;
  unsigned status = 0;
  // written: the server's copy; when the answer has none, the sent resource stamped with the
  // ETag's version; nullopt when neither is known (the caller re-reads next time).
  std::optional<boost::json::object> resource;
  std::optional<mapping::mapping_error> error;  // failed
};
write_fold fold_write(entry_answer answer, const plan_request& request);  // moves the resource out

// Positions grouped by key in order of first appearance; each group keeps input order (the
// writes of one Observation in a flush are applied in the order of their measurement groups).
std::vector<std::vector<std::size_t>> chains_by_key(std::span<const std::string> keys);

}  // namespace iomt::fhir
