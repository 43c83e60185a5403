#include "transport/http/eventhub_request.hpp"

#include "mapping/text/ascii.hpp"
#include "transport/http/event_properties.hpp"
#include "transport/http/json_scan.hpp"

#include <atomic>
#include <charconv>

namespace iomt::transport::http {

namespace {
constexpr std::string_view batch_media_type = "application/vnd.microsoft.servicebus.json";

using mapping::text::to_lower;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

http_error error(bhttp::status status, std::string message) { return {status, std::move(message)}; }

// Per-item result of reading the request, before partitions and sequence numbers are assigned.
struct pending_event {
  std::string body;
  std::string properties;
  broker_properties broker;
};

}  // namespace

// Counters of one hub: per partition the next sequence number and byte offset.
class hub_log {
public:
  struct partition {
    std::atomic<std::int64_t> sequence{0};
    std::atomic<std::int64_t> offset{0};
  };

  hub_log(std::string name, std::uint32_t partitions)
      : name_(std::move(name)), partitions_(std::make_unique<partition[]>(partitions)) {}

  const std::string& name() const noexcept { return name_; }
  partition& at(std::uint32_t p) noexcept { return partitions_[p]; }
  std::uint64_t next_round_robin() noexcept { return round_robin_.fetch_add(1, std::memory_order_relaxed); }

private:
  std::string name_;
  std::unique_ptr<partition[]> partitions_;
  std::atomic<std::uint64_t> round_robin_{0};
};

media_type parse_media_type(std::string_view content_type) {
  media_type out;
  const auto semi = content_type.find(';');
  out.type = to_lower(trim(content_type.substr(0, semi)));
  std::string_view params = semi == std::string_view::npos ? std::string_view{} : content_type.substr(semi + 1);
  while (!params.empty()) {
    const auto next = params.find(';');
    std::string_view param = trim(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
    const auto eq = param.find('=');
    if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "charset")) continue;
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    out.charset = to_lower(value);
  }
  return out;
}

std::uint32_t partition_for_key(std::string_view key, std::uint32_t partition_count) noexcept {
  std::uint32_t h = 2166136261u;
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return partition_count == 0 ? 0 : h % partition_count;
}

namespace {
std::vector<std::shared_ptr<const ingest_authenticator>> sas_only(std::optional<sas_verifier> auth) {
  std::vector<std::shared_ptr<const ingest_authenticator>> out;
  if (auth) out.push_back(std::make_shared<sas_authenticator>(std::move(*auth)));
  return out;
}
}  // namespace

eventhub_ingest::eventhub_ingest(ingest_options options, std::optional<sas_verifier> auth)
    : eventhub_ingest(std::move(options), sas_only(std::move(auth))) {}

eventhub_ingest::eventhub_ingest(ingest_options options,
                                 std::vector<std::shared_ptr<const ingest_authenticator>> authenticators)
    : options_(std::move(options)), auth_(std::move(authenticators)) {
  if (options_.partition_count == 0) options_.partition_count = 1;
  if (options_.partition_count > 1024) options_.partition_count = 1024;
  for (const auto& name : options_.hubs)
    configured_.push_back(std::make_unique<hub_log>(name, options_.partition_count));
}

eventhub_ingest::~eventhub_ingest() = default;

hub_log* eventhub_ingest::find_hub(std::string_view name) {
  if (!options_.hubs.empty()) {
    for (auto& h : configured_)
      if (iequals(h->name(), name)) return h.get();
    return nullptr;
  }
  std::lock_guard lock(dynamic_mutex_);
  for (auto& h : dynamic_)
    if (iequals(h->name(), name)) return h.get();
  if (dynamic_.size() >= options_.max_hubs) return nullptr;
  dynamic_.push_back(std::make_unique<hub_log>(std::string(name), options_.partition_count));
  return dynamic_.back().get();
}

boost::system::result<ingest_plan, http_error> eventhub_ingest::check_header(const bhttp::request_header<>& header,
                                                                             std::int64_t now_unix, auth_cache* cache) {
  auto route = parse_eventhub_route(header.target());
  if (!route) return route.error();
  if (header.method() != bhttp::verb::post)
    return error(bhttp::status::method_not_allowed, "only POST is allowed on '" +
                                                        std::string(header.target().substr(0, 200)) + "' (got " +
                                                        std::string(header.method_string()) + ")");

  // Publisher and partition ids are compared exactly after decoding: one that decodes to
  // something with a '/' ("x%2F..%2Fadmin") would name another entity (issue 15).
  if (route->kind != route_kind::hub && route->id.find_first_of("/\\") != std::string::npos)
    return error(bhttp::status::bad_request,
                 std::string(route->kind == route_kind::publisher ? "publisher" : "partition") + " id '" +
                     route->id.substr(0, 200) + "' contains '/' or '\\' once decoded: not a valid id");

  if (!auth_.empty())
    if (auto r = authenticate(header[bhttp::field::authorization], *route, now_unix, cache); !r) return r.error();

  ingest_plan plan;
  plan.hub = find_hub(route->hub);
  if (!plan.hub) {
    if (options_.hubs.empty())
      return error(bhttp::status::not_found, "event hub '" + route->hub + "' not accepted: already " +
                                                 std::to_string(options_.max_hubs) +
                                                 " distinct hub names (configure the hub names)");
    std::string names;
    for (const auto& h : options_.hubs) names += (names.empty() ? "'" : ", '") + h + "'";
    return error(bhttp::status::not_found, "event hub '" + route->hub + "' does not exist (configured: " + names + ")");
  }
  if (route->kind == route_kind::partition) {
    std::uint32_t id = 0;
    const auto& s = route->id;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (ec != std::errc{} || ptr != s.data() + s.size() || id >= options_.partition_count)
      return error(bhttp::status::bad_request,
                   "partition id '" + s + "' is not one of 0.." + std::to_string(options_.partition_count - 1));
  }

  const std::string_view encoding = trim(header[bhttp::field::content_encoding]);
  if (!encoding.empty() && !iequals(encoding, "identity"))
    return error(bhttp::status::unsupported_media_type,
                 "Content-Encoding '" + std::string(encoding) + "' is not supported: send the body uncompressed");

  if (const std::string_view length = header[bhttp::field::content_length]; !length.empty()) {
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
    if (ec == std::errc{} && ptr == length.data() + length.size() && n > options_.max_body_bytes)
      return error(bhttp::status::payload_too_large, "request body of " + std::to_string(n) +
                                                         " bytes is over the limit of " +
                                                         std::to_string(options_.max_body_bytes) + " bytes");
  }

  plan.content_type = std::string(header[bhttp::field::content_type]);
  const media_type media = parse_media_type(plan.content_type);
  plan.batch = media.type == batch_media_type;
  if (plan.batch && !media.charset.empty() && media.charset != "utf-8" && media.charset != "utf8")
    return error(bhttp::status::unsupported_media_type,
                 "a batch send must be UTF-8 JSON: charset '" + media.charset + "' is not supported");
  plan.route = std::move(*route);
  return plan;
}

boost::system::result<void, http_error> eventhub_ingest::authenticate(std::string_view authorization,
                                                                      const eventhub_route& route,
                                                                      std::int64_t now_unix, auth_cache* cache) const {
  for (const auto& a : auth_)
    if (a->handles(authorization)) return a->authenticate(authorization, route, now_unix, cache);
  // No authenticator reads this header: the only one says what it expects, else list them.
  if (auth_.size() == 1) return auth_.front()->authenticate(authorization, route, now_unix, cache);
  std::string schemes;
  http_error out{bhttp::status::unauthorized, {}};
  for (const auto& a : auth_) {
    schemes += (schemes.empty() ? "" : " or ") + std::string(a->scheme());
    // RFC 9110 §11.6.1: a 401 names the schemes that would be accepted (those that have a challenge).
    if (std::string c = a->challenge(); !c.empty())
      out.www_authenticate += (out.www_authenticate.empty() ? "" : ", ") + c;
  }
  out.message = authorization.empty() ? "no Authorization header: " + schemes + " is required"
                                      : "the Authorization header must be " + schemes;
  return out;
}

namespace {

// The batch body -> pending events.
boost::system::result<std::vector<pending_event>, http_error> read_batch(std::string_view body,
                                                                         const ingest_options& options) {
  auto doc = json_scan::scan_document(body);
  if (!doc)
    return error(bhttp::status::bad_request, "batch body is not valid JSON: " + doc.error().message + " at byte " +
                                                 std::to_string(doc.error().offset));
  if (json_scan::kind_of(*doc) != json_scan::value_kind::array)
    return error(bhttp::status::bad_request,
                 "batch body must be a JSON array of {\"Body\":...,\"UserProperties\":{...}} objects");
  std::vector<pending_event> events;
  std::optional<http_error> failure;
  json_scan::for_each_item(*doc, [&](std::string_view item) {
    if (failure) return;
    const std::string where = "batch item [" + std::to_string(events.size()) + "]";
    auto fail = [&](bhttp::status status, std::string message) { failure = error(status, where + ": " + message); };
    if (json_scan::kind_of(item) != json_scan::value_kind::object)
      return fail(bhttp::status::bad_request, "not a JSON object");
    std::optional<std::string_view> body_value;
    std::string_view user_properties, broker;
    bool base64 = false;
    json_scan::for_each_member(item, [&](std::string_view key_token, std::string_view value) {
      if (failure) return;
      const std::string key = json_scan::decode_string(key_token);
      const auto kind = json_scan::kind_of(value);
      if (iequals(key, "Body")) {
        body_value = value;
      } else if (iequals(key, "UserProperties")) {
        if (kind != json_scan::value_kind::object && kind != json_scan::value_kind::null)
          return fail(bhttp::status::bad_request, "\"UserProperties\" must be a JSON object");
        user_properties = kind == json_scan::value_kind::null ? std::string_view{} : value;
      } else if (iequals(key, "BrokerProperties")) {
        if (kind != json_scan::value_kind::object && kind != json_scan::value_kind::null)
          return fail(bhttp::status::bad_request, "\"BrokerProperties\" must be a JSON object");
        broker = kind == json_scan::value_kind::null ? std::string_view{} : value;
      } else if (iequals(key, "IsBodyBase64")) {
        if (kind != json_scan::value_kind::true_ && kind != json_scan::value_kind::false_ &&
            kind != json_scan::value_kind::null)
          return fail(bhttp::status::bad_request, "\"IsBodyBase64\" must be true or false");
        base64 = kind == json_scan::value_kind::true_;
      }
    });
    if (failure) return;
    if (!body_value) return fail(bhttp::status::bad_request, "has no \"Body\"");
    pending_event e;
    if (json_scan::kind_of(*body_value) == json_scan::value_kind::string) {
      e.body = json_scan::decode_string(*body_value);
      if (base64) {
        auto decoded = base64_decode(e.body);
        if (!decoded) return fail(bhttp::status::bad_request, "\"Body\" is not valid base64 (IsBodyBase64 is true)");
        e.body = std::move(*decoded);
      }
    } else {
      if (base64) return fail(bhttp::status::bad_request, "\"IsBodyBase64\" is true but \"Body\" is not a string");
      e.body = std::string(*body_value);  // a JSON value: its text as sent
    }
    if (user_properties.empty()) {
      e.properties = "{}";
    } else {
      json_scan::append_minified(user_properties, e.properties);
    }
    if (!broker.empty()) {
      auto bp = parse_broker_properties(broker, where + " BrokerProperties");
      if (!bp) {
        failure = bp.error();
        return;
      }
      e.broker = std::move(*bp);
    }
    if (e.body.size() + e.properties.size() > options.max_event_bytes)
      return fail(bhttp::status::payload_too_large, "event of " + std::to_string(e.body.size() + e.properties.size()) +
                                                        " bytes (body + properties) is over the per-event limit of " +
                                                        std::to_string(options.max_event_bytes) + " bytes");
    events.push_back(std::move(e));
  });
  if (failure) return *failure;
  if (events.empty()) return error(bhttp::status::bad_request, "batch body is an empty array: nothing to send");
  return events;
}

}  // namespace

boost::system::result<std::vector<event>, http_error> eventhub_ingest::to_events(
    const ingest_plan& plan, request&& req, std::chrono::system_clock::time_point now,
    const std::shared_ptr<const std::string>& request_id) {
  if (req.body().size() > options_.max_body_bytes)
    return error(bhttp::status::payload_too_large, "request body of " + std::to_string(req.body().size()) +
                                                       " bytes is over the limit of " +
                                                       std::to_string(options_.max_body_bytes) + " bytes");
  std::vector<pending_event> pending;
  if (plan.batch) {
    auto batch = read_batch(req.body(), options_);
    if (!batch) return batch.error();
    pending = std::move(*batch);
  } else {
    pending_event e;
    if (auto bp = req.find("BrokerProperties"); bp != req.end()) {
      auto parsed = parse_broker_properties(bp->value(), "BrokerProperties header");
      if (!parsed) return parsed.error();
      e.broker = std::move(*parsed);
    }
    e.properties = header_properties(req.base());
    e.body = std::move(req.body());
    pending.push_back(std::move(e));
  }

  const auto& route = plan.route;
  if (route.kind == route_kind::partition)
    for (const auto& e : pending)
      if (e.broker.partition_key)
        return error(bhttp::status::bad_request,
                     "a PartitionKey cannot be combined with a partition route (/partitions/" + route.id + ")");

  const auto enqueued = std::chrono::floor<std::chrono::milliseconds>(now);
  const std::string enqueued_text = format_enqueued_time(enqueued);
  const json::date_time enqueued_time = to_date_time(enqueued);
  std::optional<std::uint32_t> round_robin;
  std::uint32_t fixed_partition = 0;
  if (route.kind == route_kind::partition)
    std::from_chars(route.id.data(), route.id.data() + route.id.size(), fixed_partition);

  std::vector<event> events;
  events.reserve(pending.size());
  for (auto& p : pending) {
    event e;
    std::string_view key;
    if (p.broker.partition_key)
      key = *p.broker.partition_key;
    else if (route.kind == route_kind::publisher)
      key = route.id;
    std::uint32_t partition = fixed_partition;
    if (route.kind != route_kind::partition) {
      if (!key.empty()) {
        partition = partition_for_key(key, options_.partition_count);
      } else {
        if (!round_robin)
          round_robin = static_cast<std::uint32_t>(plan.hub->next_round_robin() % options_.partition_count);
        partition = *round_robin;
      }
    }
    auto& log = plan.hub->at(partition);
    system_fields fields;
    fields.broker = &p.broker;
    if (!plan.batch) fields.content_type = plan.content_type;
    if (route.kind == route_kind::publisher) fields.publisher = route.id;
    fields.sequence_number = log.sequence.fetch_add(1, std::memory_order_relaxed);
    fields.offset = log.offset.fetch_add(static_cast<std::int64_t>(p.body.size()), std::memory_order_relaxed);
    fields.enqueued_time = enqueued_text;
    e.system_properties = system_properties_json(fields);
    e.partition_key = std::string(key);
    e.partition = static_cast<std::int32_t>(partition);
    e.body = std::move(p.body);
    e.properties = std::move(p.properties);
    e.enqueued_time = enqueued_time;
    e.request_id = request_id;  // shared, not copied
    if (plan.batch) e.batch_index = static_cast<std::int32_t>(events.size());
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace iomt::transport::http
