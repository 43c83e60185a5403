#include "transport/amqp/eventhubs/eventhubs_handler.hpp"

#include "mapping/json/dotnet.hpp"
#include "transport/http/sas.hpp"

#include <proton/codec.h>
#include <proton/connection.h>

#include <algorithm>
#include <charconv>

namespace iomt::transport::amqp::eventhubs {

namespace {

std::string_view view(pn_bytes_t b) { return {b.start ? b.start : "", b.size}; }

// partition_ids from the READ eventhub response body (a map; the ids are an array or list of strings).
std::vector<std::string> partition_ids(pn_data_t* body) {
  std::vector<std::string> ids;
  if (!body || pn_data_type(body) != PN_MAP || !pn_data_enter(body)) return ids;
  while (pn_data_next(body)) {
    std::string key;
    if (pn_data_type(body) == PN_STRING)
      key = view(pn_data_get_string(body));
    else if (pn_data_type(body) == PN_SYMBOL)
      key = view(pn_data_get_symbol(body));
    if (!pn_data_next(body)) break;
    if (key != "partition_ids") continue;
    const pn_type_t t = pn_data_type(body);
    if ((t == PN_ARRAY || t == PN_LIST) && pn_data_enter(body)) {
      while (pn_data_next(body)) {
        if (pn_data_type(body) == PN_STRING)
          ids.emplace_back(view(pn_data_get_string(body)));
        else if (pn_data_type(body) == PN_SYMBOL)
          ids.emplace_back(view(pn_data_get_symbol(body)));
      }
      pn_data_exit(body);
    }
  }
  pn_data_exit(body);
  return ids;
}

std::string key_of(pn_data_t* d) {
  if (pn_data_type(d) == PN_STRING) return std::string(view(pn_data_get_string(d)));
  if (pn_data_type(d) == PN_SYMBOL) return std::string(view(pn_data_get_symbol(d)));
  return {};
}

// Any AMQP integer as int64 (Event Hubs sends long; other implementations may narrow it).
bool get_integer(pn_data_t* d, std::int64_t& out) {
  switch (pn_data_type(d)) {
    case PN_LONG:
      out = pn_data_get_long(d);
      return true;
    case PN_ULONG:
      out = static_cast<std::int64_t>(pn_data_get_ulong(d));
      return true;
    case PN_INT:
      out = pn_data_get_int(d);
      return true;
    case PN_UINT:
      out = pn_data_get_uint(d);
      return true;
    case PN_SHORT:
      out = pn_data_get_short(d);
      return true;
    case PN_USHORT:
      out = pn_data_get_ushort(d);
      return true;
    case PN_BYTE:
      out = pn_data_get_byte(d);
      return true;
    case PN_UBYTE:
      out = pn_data_get_ubyte(d);
      return true;
    default:
      return false;
  }
}

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool parse_partition_info(pn_data_t* body, partition_info& out) {
  out = {};
  if (!body || pn_data_type(body) != PN_MAP || !pn_data_enter(body)) return false;
  bool has_last = false;
  while (pn_data_next(body)) {
    const std::string key = key_of(body);
    if (!pn_data_next(body)) break;
    if (key == "last_enqueued_sequence_number") {
      has_last = get_integer(body, out.last_enqueued_sequence_number);
    } else if (key == "begin_sequence_number") {
      get_integer(body, out.begin_sequence_number);
    } else if (key == "last_enqueued_time_utc") {
      if (pn_data_type(body) == PN_TIMESTAMP) out.last_enqueued_time_ms = pn_data_get_timestamp(body);
    } else if (key == "is_partition_empty") {
      if (pn_data_type(body) == PN_BOOL) out.empty = pn_data_get_bool(body);
    }
  }
  pn_data_exit(body);
  if (out.empty && !has_last) {  // some implementations leave the sequence numbers out
    out.last_enqueued_sequence_number = out.begin_sequence_number >= 0 ? out.begin_sequence_number - 1 : -1;
    has_last = true;
  }
  return has_last;
}

std::int64_t lag_base(std::int64_t completed, bool from_earliest, std::int64_t begin, std::int64_t baseline) {
  std::int64_t base = completed >= 0 ? completed : from_earliest ? begin - 1 : baseline;
  if (begin >= 0) base = std::max(base, begin - 1);
  return base;
}

std::uint64_t lag_events(std::int64_t last_enqueued, std::int64_t base) {
  return last_enqueued > base ? static_cast<std::uint64_t>(last_enqueued - base) : 0;
}

std::vector<std::string> owned_partitions(const std::vector<std::string>& all, const ownership& o) {
  std::vector<std::string> mine;
  if (o.discover_only) return mine;
  if (!o.partitions.empty()) {
    for (const auto& p : all)
      if (std::find(o.partitions.begin(), o.partitions.end(), p) != o.partitions.end()) mine.push_back(p);
  } else {
    const std::uint32_t n = std::max<std::uint32_t>(1, o.replica_count);
    for (std::size_t i = 0; i < all.size(); ++i)
      if (i % n == o.replica_index % n) mine.push_back(all[i]);
  }
  std::vector<std::string> out;
  const std::uint32_t c = std::max<std::uint32_t>(1, o.connection_count);
  for (std::size_t i = 0; i < mine.size(); ++i)
    if (i % c == o.connection_index % c) out.push_back(mine[i]);
  return out;
}

std::string start_selector(const std::optional<checkpoint>& c, const std::string& start) {
  if (c && c->offset >= 0) return "amqp.annotation.x-opt-offset > '" + std::to_string(c->offset) + "'";
  if (c && c->sequence_number >= 0)
    return "amqp.annotation.x-opt-sequence-number > " + std::to_string(c->sequence_number);
  if (start.empty() || start == "earliest") return "amqp.annotation.x-opt-offset > '-1'";
  if (start == "latest") return "amqp.annotation.x-opt-offset > '@latest'";
  std::int64_t ms = 0;
  auto r = std::from_chars(start.data(), start.data() + start.size(), ms);
  if (r.ec != std::errc{} || r.ptr != start.data() + start.size()) {
    auto t = json::parse_datetime(start);
    ms = t ? (t->ticks - json::unix_epoch_ticks) / json::ticks_per_millisecond : 0;
  }
  return "amqp.annotation.x-opt-enqueued-time > '" + std::to_string(ms) + "'";
}

eventhubs_handler::eventhubs_handler(handler_options options, consumer& c, checkpoint_store& store, log_hook log,
                                     unix_clock now_unix)
    : options_(std::move(options)),
      consumer_(c),
      store_(store),
      log_(std::move(log)),
      now_unix_(now_unix ? std::move(now_unix) : unix_clock(system_now)) {
  if (options_.eventhub.empty()) options_.eventhub = options_.account.entity_path;
  audience_ = "sb://" + options_.account.host + "/" + options_.eventhub;
  consumer_.on_progress([this](const link_spec& l, const stream_position& p) {
    store_.update(l.partition, checkpoint{p.offset, p.sequence_number});
    on_completed(l.partition, p.sequence_number);
  });
}

std::string eventhubs_handler::make_token() {
  if (!options_.account.shared_access_signature.empty()) return options_.account.shared_access_signature;
  const std::int64_t expiry = now_unix_() + options_.token_lifetime.count();
  return http::make_sas_token(audience_, options_.account.key_name, options_.account.key, expiry);
}

void eventhubs_handler::fail(errc code, std::string detail) {
  if (!failure_) failure_ = {code, std::move(detail)};
  if (log_) log_(2, "Event Hubs: " + failure_.message(), "");
  if (engine_) pn_connection_close(engine_->connection());
}

void eventhubs_handler::on_open(engine& e) {
  engine_ = &e;
  failure_ = {};
  consumer_.begin(e);
  cbs_.open(consumer_.session());
  management_.reset();
  state_ = state::authorizing;
  put_token(std::chrono::steady_clock::now());
}

void eventhubs_handler::put_token(std::chrono::steady_clock::time_point now) {
  token_ = make_token();
  ++tokens_;
  // Refresh at 80% of the lifetime (a ready-made signature cannot be refreshed: never).
  refresh_at_ =
      options_.account.shared_access_signature.empty()
          ? now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.token_lifetime * 8 / 10)
          : std::chrono::steady_clock::time_point::max();
  request r;
  r.properties = {{"operation", "put-token"}, {"type", "servicebus.windows.net:sastoken"}, {"name", audience_}};
  r.body = token_;
  cbs_.call(
      r,
      [this](const response& res) {
        if (res.status != 200 && res.status != 202) {
          fail(errc::cbs_error, "put-token for " + audience_ + " answered " + std::to_string(res.status) +
                                    (res.description.empty() ? "" : ": " + res.description));
          return;
        }
        if (state_ == state::authorizing) {
          state_ = state::discovering;
          discover(std::chrono::steady_clock::now());
        }
      },
      now);
}

void eventhubs_handler::discover(std::chrono::steady_clock::time_point now) {
  management_.open(consumer_.session());
  request r;
  r.properties = {{"operation", "READ"},
                  {"name", options_.eventhub},
                  {"type", "com.microsoft:eventhub"},
                  {"security_token", token_}};
  management_.call(
      r,
      [this](const response& res) {
        if (res.timed_out) {
          fail(errc::management_error, "no answer to READ eventhub within the request timeout");
          return;
        }
        if (res.status != 200) {
          fail(errc::management_error, "READ eventhub '" + options_.eventhub + "' answered " +
                                           std::to_string(res.status) +
                                           (res.description.empty() ? "" : ": " + res.description));
          return;
        }
        auto ids = partition_ids(res.body);
        if (ids.empty()) {
          fail(errc::management_error, "READ eventhub '" + options_.eventhub + "' returned no partition_ids");
          return;
        }
        partitions_ = ids;
        if (options_.on_discovered) options_.on_discovered(ids);
        open_receivers(ids);
      },
      now);
}

void eventhubs_handler::open_receivers(const std::vector<std::string>& ids) {
  owned_ = owned_partitions(ids, options_.owner);
  for (const auto& p : options_.owner.partitions)
    if (std::find(ids.begin(), ids.end(), p) == ids.end() && log_)
      log_(1, "Event Hubs: configured partition '" + p + "' does not exist in '" + options_.eventhub + "'", "");
  {
    // Lag state per owned partition; what an earlier connection completed stays.
    const bool earliest = options_.start_position.empty() || options_.start_position == "earliest";
    std::lock_guard lock(lag_mu_);
    std::vector<partition_lag> next;
    for (const auto& id : owned_) {
      auto old = std::find_if(lag_.begin(), lag_.end(), [&](const partition_lag& p) { return p.stats.id == id; });
      partition_lag p;
      if (old != lag_.end()) {
        p = std::move(*old);
      } else {
        p.stats.id = id;
        const auto cp = store_.get(id);
        p.from_earliest = earliest && !cp;
        if (cp) p.stats.completed_sequence_number = cp->sequence_number;
      }
      p.querying = false;
      next.push_back(std::move(p));
    }
    lag_ = std::move(next);
  }
  receivers_opened_ = std::chrono::steady_clock::now();
  lag_first_round_ = true;
  state_ = state::receiving;
  for (const auto& id : owned_) {
    link_spec spec;
    spec.address = options_.eventhub + "/ConsumerGroups/" + options_.consumer_group + "/Partitions/" + id;
    spec.selector = start_selector(store_.get(id), options_.start_position);
    spec.epoch = options_.epoch;
    spec.partition = id;
    consumer_.open_link(spec);
  }
  if (log_ && !options_.owner.discover_only) {
    std::string list;
    for (const auto& id : owned_) list += (list.empty() ? "" : ",") + id;
    log_(0,
         "Event Hubs: receiving from " + options_.eventhub + " partitions [" + list + "] of " +
             std::to_string(ids.size()) + ", consumer group " + options_.consumer_group,
         "");
  }
}

void eventhubs_handler::on_event(pn_event_t* e) {
  if (cbs_.on_event(e)) {
    if (cbs_.failure()) fail(errc::cbs_error, cbs_.failure().detail);
    return;
  }
  if (management_.on_event(e)) {
    if (management_.failure()) fail(errc::management_error, management_.failure().detail);
    return;
  }
}

void eventhubs_handler::on_timer(std::chrono::steady_clock::time_point now) {
  if (state_ == state::idle) return;
  if (now >= refresh_at_) put_token(now);
  const auto limit = now - options_.request_timeout;
  if (cbs_.overdue(limit)) fail(errc::cbs_error, "no answer to put-token within the request timeout");
  management_.expire(limit);  // discovery fails the connection, a lag READ only counts
  if (now - last_flush_ >= options_.checkpoint_interval) {
    last_flush_ = now;
    flush_checkpoints();
  }
  if (state_ == state::receiving && !failure_ && options_.lag_interval.count() > 0) {
    const bool due = lag_first_round_
                         ? consumer_.all_links_attached() || now >= receivers_opened_ + options_.lag_interval
                         : now >= lag_due_;
    if (due) query_lag(now);
  }
}

void eventhubs_handler::query_lag(std::chrono::steady_clock::time_point now) {
  lag_first_round_ = false;
  lag_due_ = now + options_.lag_interval;
  lag_logged_ = false;
  std::vector<std::string> ids;
  {
    std::lock_guard lock(lag_mu_);
    for (auto& p : lag_)
      if (!p.querying) {
        p.querying = true;
        ids.push_back(p.stats.id);
      }
  }
  for (const auto& id : ids) {
    request r;
    r.properties = {{"operation", "READ"},
                    {"name", options_.eventhub},
                    {"type", "com.microsoft:partition"},
                    {"partition", id},
                    {"security_token", token_}};
    management_.call(
        r, [this, id](const response& res) { on_partition_answer(id, res); }, now);
  }
}

void eventhubs_handler::on_partition_answer(const std::string& id, const response& res) {
  partition_info info;
  const bool ok = !res.timed_out && res.status == 200 && parse_partition_info(res.body, info);
  {
    std::lock_guard lock(lag_mu_);
    auto it = std::find_if(lag_.begin(), lag_.end(), [&](const partition_lag& p) { return p.stats.id == id; });
    if (it == lag_.end()) return;  // no longer ours
    it->querying = false;
    if (ok) {
      it->begin = info.begin_sequence_number;
      it->stats.last_enqueued_sequence_number = info.last_enqueued_sequence_number;
      if (info.last_enqueued_time_ms >= 0) it->stats.last_enqueued_time_ms = info.last_enqueued_time_ms;
      if (it->baseline < 0 && it->stats.completed_sequence_number < 0 && !it->from_earliest)
        it->baseline = info.last_enqueued_sequence_number;
      it->stats.lag_known = true;
      update_lag(*it);
    }
  }
  if (ok) return;
  lag_failures_.fetch_add(1, std::memory_order_relaxed);
  if (lag_logged_ || !log_) return;
  lag_logged_ = true;
  std::string why = res.timed_out       ? res.description
                    : res.status != 200 ? "answered " + std::to_string(res.status) +
                                              (res.description.empty() ? "" : ": " + res.description)
                                        : "answered without last_enqueued_sequence_number";
  log_(1,
       "Event Hubs: lag query READ partition '" + id + "' of '" + options_.eventhub + "' " + why +
           " (the lag metric keeps its last value; consumption goes on)",
       "");
}

void eventhubs_handler::on_completed(const std::string& id, std::int64_t sequence_number) {
  if (sequence_number < 0) return;
  std::lock_guard lock(lag_mu_);
  for (auto& p : lag_)
    if (p.stats.id == id) {
      if (sequence_number > p.stats.completed_sequence_number) p.stats.completed_sequence_number = sequence_number;
      if (p.stats.lag_known) update_lag(p);
      return;
    }
}

void eventhubs_handler::update_lag(partition_lag& p) {
  const std::int64_t base = lag_base(p.stats.completed_sequence_number, p.from_earliest, p.begin, p.baseline);
  p.stats.lag = lag_events(p.stats.last_enqueued_sequence_number, base);
}

void eventhubs_handler::partition_snapshot(std::vector<partition_stats>& out) const {
  std::lock_guard lock(lag_mu_);
  for (const auto& p : lag_) out.push_back(p.stats);
}

void eventhubs_handler::flush_checkpoints() {
  if (auto err = store_.flush(); err && log_) log_(2, "Event Hubs: " + err.message(), "");
}

void eventhubs_handler::on_closed() {
  if (options_.on_link_stolen && consumer_.failure().detail.find("amqp:link:stolen") != std::string::npos)
    options_.on_link_stolen();
  flush_checkpoints();
  cbs_.reset();
  management_.reset();  // pending lag READs are dropped with it
  {
    std::lock_guard lock(lag_mu_);
    for (auto& p : lag_) p.querying = false;
  }
  state_ = state::idle;
  engine_ = nullptr;
}

bool eventhubs_handler::ready() const {
  return state_ == state::receiving && consumer_.all_links_attached() && consumer_.link_count() == owned_.size();
}

}  // namespace iomt::transport::amqp::eventhubs
