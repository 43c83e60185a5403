#include "transport/amqp/consumer.hpp"

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/session.h>
#include <proton/terminus.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace iomt::transport::amqp {

// ---- completion_mailbox -------------------------------------------------------------------------

void completion_mailbox::set_wake(std::function<void()> wake) {
  std::lock_guard l(mu_);
  wake_ = std::move(wake);
}

void completion_mailbox::post(std::uint64_t batch, const outcome& o) {
  std::lock_guard l(mu_);
  items_.push_back({batch, o});
  if (items_.size() == 1 && wake_) wake_();
}

std::vector<completion_mailbox::item> completion_mailbox::take() {
  std::vector<item> out;
  std::lock_guard l(mu_);
  out.swap(items_);
  return out;
}

// ---- consumer -----------------------------------------------------------------------------------

namespace {

constexpr const char* selector_filter = "apache.org:selector-filter:string";

void put_selector(pn_terminus_t* source, const std::string& expr) {
  // filter-set: { "apache.org:selector-filter:string": described("apache.org:selector-filter:string", expr) }
  // (AMQP 1.0 §3.5.8 filter-set; the descriptor as the Azure SDKs send it).
  pn_data_t* f = pn_terminus_filter(source);
  pn_data_clear(f);
  pn_data_put_map(f);
  pn_data_enter(f);
  pn_data_put_symbol(f, pn_bytes(std::strlen(selector_filter), selector_filter));
  pn_data_put_described(f);
  pn_data_enter(f);
  pn_data_put_symbol(f, pn_bytes(std::strlen(selector_filter), selector_filter));
  pn_data_put_string(f, pn_bytes(expr.size(), expr.data()));
  pn_data_exit(f);
  pn_data_exit(f);
}

void put_epoch(pn_link_t* link, std::int64_t epoch) {
  static constexpr char key[] = "com.microsoft:epoch";
  pn_data_t* p = pn_link_properties(link);
  pn_data_clear(p);
  pn_data_put_map(p);
  pn_data_enter(p);
  pn_data_put_symbol(p, pn_bytes(sizeof key - 1, key));
  pn_data_put_long(p, epoch);
  pn_data_exit(p);
}

}  // namespace

consumer::consumer(consumer_options options, event_sink& sink) : options_(std::move(options)), sink_(sink) {}

consumer::~consumer() {
  mailbox_->set_wake({});
  end();
}

void consumer::end() {
  links_.clear();
  batches_.clear();
  pending_.events.clear();
  pending_.refs.clear();
  held_.clear();
  session_ = nullptr;
  engine_ = nullptr;
  paused_ = false;
  retry_after_.reset();
  backoff_ = std::chrono::milliseconds(0);
  stats_.unsettled.store(0, std::memory_order_relaxed);
}

void consumer::begin(engine& e) {
  end();
  engine_ = &e;
  failure_ = {};
  closing_ = false;
  finished_close_ = false;
  pn_connection_open(e.connection());
  session_ = pn_session(e.connection());
  pn_session_open(session_);
}

std::size_t consumer::open_link(const link_spec& spec) {
  const std::size_t index = links_.size();
  link_state ls;
  ls.spec = spec;
  const std::string name = options_.link_name_prefix + "-" + std::to_string(index) + "-" + spec.address;
  ls.link = pn_receiver(session_, name.c_str());
  pn_terminus_set_address(pn_link_source(ls.link), spec.address.c_str());
  pn_terminus_set_address(pn_link_target(ls.link), name.c_str());
  // At-least-once: the broker keeps each delivery until we settle it (AMQP 1.0 §2.6.12).
  pn_link_set_snd_settle_mode(ls.link, PN_SND_UNSETTLED);
  pn_link_set_rcv_settle_mode(ls.link, PN_RCV_FIRST);
  if (!spec.selector.empty()) put_selector(pn_link_source(ls.link), spec.selector);
  if (spec.epoch >= 0) put_epoch(ls.link, spec.epoch);
  pn_link_open(ls.link);
  links_.push_back(std::move(ls));
  grant_credit();
  return index;
}

bool consumer::all_links_attached() const {
  return std::all_of(links_.begin(), links_.end(), [](const link_state& l) { return l.attached; });
}

consumer::link_state* consumer::find(pn_link_t* l) {
  if (last_link_ < links_.size() && links_[last_link_].link == l) return &links_[last_link_];
  for (std::size_t i = 0; i < links_.size(); ++i)
    if (links_[i].link == l) {
      last_link_ = i;
      return &links_[i];
    }
  return nullptr;
}

void consumer::fail(errc code, std::string detail) {
  if (closing_) return;  // our own close: not a failure
  if (!failure_) failure_ = {code, std::move(detail)};
}

bool consumer::on_event(pn_event_t* e) {
  switch (pn_event_type(e)) {
    case PN_CONNECTION_REMOTE_CLOSE: {
      pn_connection_t* c = pn_event_connection(e);
      pn_condition_t* cond = pn_connection_remote_condition(c);
      std::string why = condition_text(cond);
      const char* name = pn_condition_is_set(cond) ? pn_condition_get_name(cond) : nullptr;
      if (!why.empty())
        fail(name && std::string_view(name) == "amqp:unauthorized-access" ? errc::authentication_failed
                                                                          : errc::closed_by_peer,
             why);
      else if (!closing_)
        fail(errc::closed_by_peer, "the broker closed the connection");
      pn_connection_close(c);
      return true;
    }
    case PN_SESSION_REMOTE_CLOSE: {
      pn_session_t* s = pn_event_session(e);
      if (s != session_) return false;
      // RabbitMQ ends the whole session when an attach fails (e.g. amqp:not-found).
      std::string why = condition_text(pn_session_remote_condition(s));
      fail(errc::link_error, why.empty() ? "the broker ended the session" : "session ended: " + why);
      pn_session_close(s);
      pn_connection_close(pn_session_connection(s));
      return true;
    }
    case PN_LINK_REMOTE_OPEN: {
      link_state* ls = find(pn_event_link(e));
      if (!ls) return false;
      // A refused attach comes back with a null source, followed by a detach with the reason.
      ls->attached = pn_terminus_get_address(pn_link_remote_source(ls->link)) != nullptr ||
                     pn_terminus_get_type(pn_link_remote_source(ls->link)) == PN_SOURCE;
      grant_credit();
      return true;
    }
    case PN_LINK_REMOTE_CLOSE:
    case PN_LINK_REMOTE_DETACH: {
      link_state* ls = find(pn_event_link(e));
      if (!ls) return false;
      if (closing_) {
        // The answer to our detach: the dispositions before it have been processed.
        ls->detached = true;
        if (std::all_of(links_.begin(), links_.end(), [](const link_state& l) { return !l.link || l.detached; }))
          finish_close();
        return true;
      }
      std::string why = condition_text(pn_link_remote_condition(ls->link));
      fail(errc::link_error, ls->spec.address + ": " + (why.empty() ? "detached by the broker" : why));
      pn_link_close(ls->link);
      // Every link shares one fate: reconnect (unsettled deliveries go back to the queue).
      if (engine_) pn_connection_close(engine_->connection());
      return true;
    }
    case PN_DELIVERY: {
      pn_delivery_t* d = pn_event_delivery(e);
      pn_link_t* l = pn_delivery_link(d);
      link_state* ls = find(l);
      if (!ls) return false;
      if (pn_link_is_receiver(l)) on_delivery(*ls, static_cast<std::uint32_t>(ls - links_.data()), d);
      return true;
    }
    default:
      return false;
  }
}

void consumer::on_delivery(link_state& ls, std::uint32_t index, pn_delivery_t* d) {
  if (pn_delivery_aborted(d)) {  // the sender gave up on a multi-frame message
    ls.partial.clear();
    pn_delivery_settle(d);
    return;
  }
  if (!pn_delivery_readable(d)) return;
  // Read what has arrived; a delivery may span several transfer frames.
  for (;;) {
    const std::size_t pending = pn_delivery_pending(d);
    if (pending == 0) break;
    const std::size_t old = ls.partial.size();
    ls.partial.resize(old + pending);
    const ssize_t got = pn_link_recv(ls.link, ls.partial.data() + old, pending);
    if (got <= 0) {
      ls.partial.resize(old);
      break;
    }
    ls.partial.resize(old + static_cast<std::size_t>(got));
  }
  if (pn_delivery_partial(d)) return;  // more frames to come
  pn_link_advance(ls.link);
  stats_.received.fetch_add(1, std::memory_order_relaxed);

  const bool presettled = pn_delivery_settled(d);  // the broker sent it pre-settled
  if (presettled) pn_delivery_settle(d);           // nothing to tell the broker; frees it

  tracked t;
  t.delivery = presettled ? nullptr : d;
  const std::uint64_t seq = ls.next_seq++;
  if (ls.inflight.empty()) ls.base_seq = seq;
  stats_.unsettled.fetch_add(1, std::memory_order_relaxed);

  if (stopping_ || sink_closed_) {  // arrived on credit granted before the stop: close() releases it
    ls.inflight.push_back(t);
    ls.partial.clear();
    held_.push_back({index, seq});
    return;
  }
  event ev;
  auto mapped = mapper_.map(ls.partial, std::chrono::system_clock::now(), ev, t.position);
  ls.partial.clear();
  ls.inflight.push_back(t);
  if (!mapped) {
    stats_.decode_errors.fetch_add(1, std::memory_order_relaxed);
    if (log_) log_(1, "AMQP message rejected: it cannot be decoded", ls.spec.address + ": " + mapped.error().message);
    if (t.delivery) {
      pn_condition_t* c = pn_disposition_condition(pn_delivery_local(t.delivery));
      pn_condition_set_name(c, "amqp:decode-error");
      pn_condition_set_description(c, mapped.error().message.c_str());
    }
    settle({index, seq}, disposition::rejected);
    return;
  }
  if (const std::string& p = ls.spec.partition; !p.empty())  // Event Hubs ids are numbers
    std::from_chars(p.data(), p.data() + p.size(), ev.partition);
  pending_.events.push_back(std::move(ev));
  pending_.refs.push_back({index, seq});
  if (pending_.events.size() >= options_.max_batch_events && !paused_) submit_pending();
}

void consumer::submit_pending() {
  if (pending_.events.empty()) return;
  const std::uint64_t id = next_batch_++;
  const std::size_t n = pending_.events.size();
  const submit_status st =
      sink_.submit(std::move(pending_.events), [mb = mailbox_, id](const outcome& o) { mb->post(id, o); });
  switch (st) {
    case submit_status::accepted:
      stats_.submitted.fetch_add(n, std::memory_order_relaxed);
      batches_.emplace(id, std::move(pending_.refs));
      pending_.events.clear();
      pending_.refs.clear();
      paused_ = false;
      retry_after_.reset();
      backoff_ = std::chrono::milliseconds(0);
      return;
    case submit_status::busy:
      stats_.busy.fetch_add(1, std::memory_order_relaxed);
      if (pending_.events.size() != n) {
        // The sink consumed the events although it refused them: they cannot be offered again
        // from here, so the broker gets them back.
        for (const ref& r : pending_.refs) settle(r, disposition::released);
        pending_.events.clear();
        pending_.refs.clear();
      }
      paused_ = true;  // no credit until the pipeline takes work again
      backoff_ =
          backoff_.count() == 0 ? options_.busy_backoff_initial : std::min(backoff_ * 2, options_.busy_backoff_max);
      retry_after_ = backoff_;
      return;
    case submit_status::shutting_down:
      if (!sink_closed_ && log_) log_(1, "the pipeline is shutting down: AMQP deliveries are released", "");
      sink_closed_ = true;
      hold_pending();  // close() releases the batch
      stop_receiving();
      return;
  }
}

void consumer::flush() {
  if (!retry_after_) submit_pending();
  grant_credit();
}

void consumer::retry() {
  retry_after_.reset();
  submit_pending();
  if (pending_.events.empty()) paused_ = false;
  grant_credit();
}

void consumer::drain_completions() {
  for (auto& item : mailbox_->take()) {
    auto it = batches_.find(item.batch);
    if (it == batches_.end()) {
      stats_.stale_completions.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const std::vector<ref>& refs = it->second;
    plan_.resize(refs.size());
    plan_settlement(item.result, plan_);
    for (std::size_t i = 0; i < refs.size(); ++i) settle(refs[i], plan_[i]);
    batches_.erase(it);
  }
  report_progress();
  grant_credit();
}

void consumer::settle(const ref& r, disposition how) {
  if (r.link >= links_.size()) return;
  link_state& ls = links_[r.link];
  if (r.seq < ls.base_seq || r.seq - ls.base_seq >= ls.inflight.size()) return;
  tracked& t = ls.inflight[static_cast<std::size_t>(r.seq - ls.base_seq)];
  if (t.done) return;
  if (t.delivery) {
    switch (how) {
      case disposition::accepted:
        pn_delivery_update(t.delivery, PN_ACCEPTED);
        break;
      case disposition::released:
        pn_delivery_update(t.delivery, PN_RELEASED);
        break;
      case disposition::modified_failed:
        pn_disposition_set_failed(pn_delivery_local(t.delivery), true);  // delivery-count + 1
        pn_delivery_update(t.delivery, PN_MODIFIED);
        break;
      case disposition::rejected:
        pn_delivery_update(t.delivery, PN_REJECTED);
        break;
    }
    pn_delivery_settle(t.delivery);
    t.delivery = nullptr;
  }
  switch (how) {
    case disposition::accepted:
      stats_.accepted.fetch_add(1, std::memory_order_relaxed);
      break;
    case disposition::released:
      stats_.released.fetch_add(1, std::memory_order_relaxed);
      break;
    case disposition::modified_failed:
      stats_.modified.fetch_add(1, std::memory_order_relaxed);
      break;
    case disposition::rejected:
      stats_.rejected.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  // A released/modified event is not processed: progress (the Event Hubs checkpoint) must not
  // move past it on this connection.
  if (how == disposition::released || how == disposition::modified_failed) ls.progress_blocked = true;
  t.done = true;
  stats_.unsettled.fetch_sub(1, std::memory_order_relaxed);
  pop_done(ls);
}

void consumer::pop_done(link_state& ls) {
  bool moved = false;
  stream_position last;
  while (!ls.inflight.empty() && ls.inflight.front().done) {
    last = ls.inflight.front().position;
    ls.inflight.pop_front();
    ++ls.base_seq;
    moved = true;
  }
  if (moved && !ls.progress_blocked && (last.offset >= 0 || last.sequence_number >= 0)) {
    ls.progress = last;
    ls.progress_dirty = true;
  }
}

void consumer::report_progress() {
  for (auto& ls : links_)
    if (ls.progress_dirty) {
      ls.progress_dirty = false;
      if (progress_) progress_(ls.spec, ls.progress);
    }
}

void consumer::hold_pending() {
  held_.insert(held_.end(), pending_.refs.begin(), pending_.refs.end());
  pending_.events.clear();
  pending_.refs.clear();
}

void consumer::grant_credit() {
  const bool hold = paused_ || stopping_ || sink_closed_ || closing_;
  for (auto& ls : links_) {
    if (!ls.link) continue;
    const auto credit = static_cast<std::uint32_t>(std::max(0, pn_link_credit(ls.link)));
    const std::uint32_t n = credit_to_grant(options_.credit, credit, ls.inflight.size(), hold);
    if (n > 0) pn_link_flow(ls.link, static_cast<int>(n));
  }
}

void consumer::stop_receiving() {
  if (stopping_) return;
  stopping_ = true;
  retry_after_.reset();
  hold_pending();
}

void consumer::close() {
  if (!engine_ || closing_) return;
  closing_ = true;
  hold_pending();
  for (const ref& r : held_) settle(r, disposition::released);
  held_.clear();
  // Detach first and close the connection when the broker has answered: a broker may drop
  // dispositions that arrive right before a connection close (RabbitMQ's AMQP 1.0 plugin then
  // requeues messages that were accepted).
  bool waiting = false;
  for (auto& ls : links_)
    if (ls.link && pn_link_state(ls.link) & PN_REMOTE_ACTIVE) {
      pn_link_close(ls.link);
      waiting = true;
    } else {
      ls.detached = true;
    }
  if (!waiting) finish_close();
}

void consumer::finish_close() {
  if (!engine_ || finished_close_) return;
  finished_close_ = true;
  for (auto& ls : links_)
    if (ls.link && !(pn_link_state(ls.link) & PN_LOCAL_CLOSED)) pn_link_close(ls.link);
  if (session_) pn_session_close(session_);
  pn_connection_close(engine_->connection());
}

}  // namespace iomt::transport::amqp
