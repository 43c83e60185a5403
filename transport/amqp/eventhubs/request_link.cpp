#include "transport/amqp/eventhubs/request_link.hpp"

#include "transport/amqp/engine.hpp"

#include <proton/codec.h>
#include <proton/delivery.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/session.h>
#include <proton/terminus.h>

#include <algorithm>
#include <cstring>

namespace iomt::transport::amqp::eventhubs {

namespace {

std::string_view view(pn_bytes_t b) { return {b.start ? b.start : "", b.size}; }

// status-code may be any integer type; Event Hubs uses int, older services "statusCode".
bool read_status(pn_data_t* props, response& r) {
  pn_data_rewind(props);
  if (!pn_data_next(props) || pn_data_type(props) != PN_MAP || !pn_data_enter(props)) return false;
  bool found = false;
  while (pn_data_next(props)) {
    std::string key;
    if (pn_data_type(props) == PN_STRING)
      key = view(pn_data_get_string(props));
    else if (pn_data_type(props) == PN_SYMBOL)
      key = view(pn_data_get_symbol(props));
    if (!pn_data_next(props)) break;
    if (key == "status-code" || key == "statusCode") {
      switch (pn_data_type(props)) {
        case PN_INT:
          r.status = pn_data_get_int(props);
          found = true;
          break;
        case PN_UINT:
          r.status = static_cast<int>(pn_data_get_uint(props));
          found = true;
          break;
        case PN_LONG:
          r.status = static_cast<int>(pn_data_get_long(props));
          found = true;
          break;
        case PN_SHORT:
          r.status = pn_data_get_short(props);
          found = true;
          break;
        default:
          break;
      }
    } else if (key == "status-description" || key == "statusDescription") {
      if (pn_data_type(props) == PN_STRING) r.description = view(pn_data_get_string(props));
    }
  }
  pn_data_exit(props);
  return found;
}

}  // namespace

request_link::request_link(std::string node, std::string reply_address)
    : node_(std::move(node)), reply_(std::move(reply_address)), scratch_(pn_message()) {}

request_link::~request_link() { pn_message_free(scratch_); }

void request_link::reset() {
  sender_ = receiver_ = nullptr;
  sender_attached_ = receiver_attached_ = false;
  pending_.clear();
  failure_ = {};
}

void request_link::open(pn_session_t* session) {
  reset();
  const std::string base = "iomtflow-" + node_;
  sender_ = pn_sender(session, (base + "-sender").c_str());
  pn_terminus_set_address(pn_link_target(sender_), node_.c_str());
  pn_terminus_set_address(pn_link_source(sender_), reply_.c_str());
  pn_link_set_snd_settle_mode(sender_, PN_SND_SETTLED);
  pn_link_open(sender_);
  receiver_ = pn_receiver(session, (base + "-receiver").c_str());
  pn_terminus_set_address(pn_link_source(receiver_), node_.c_str());
  pn_terminus_set_address(pn_link_target(receiver_), reply_.c_str());
  pn_link_open(receiver_);
  pn_link_flow(receiver_, 16);
}

void request_link::call(const request& r, callback cb, std::chrono::steady_clock::time_point now) {
  pn_message_clear(scratch_);
  const std::uint64_t id = next_id_++;
  pn_data_put_ulong(pn_message_id(scratch_), id);
  pn_message_set_reply_to(scratch_, reply_.c_str());
  pn_data_t* p = pn_message_properties(scratch_);
  pn_data_put_map(p);
  pn_data_enter(p);
  for (const auto& [k, v] : r.properties) {
    pn_data_put_string(p, pn_bytes(k.size(), k.data()));
    pn_data_put_string(p, pn_bytes(v.size(), v.data()));
  }
  pn_data_exit(p);
  if (!r.body.empty()) pn_data_put_string(pn_message_body(scratch_), pn_bytes(r.body.size(), r.body.data()));
  std::string encoded(1024 + r.body.size() * 2, '\0');
  for (;;) {
    std::size_t size = encoded.size();
    if (pn_message_encode(scratch_, encoded.data(), &size) == 0) {
      encoded.resize(size);
      break;
    }
    encoded.resize(encoded.size() * 2);
  }
  pending_.push_back({id, std::move(encoded), std::move(cb), now, false});
  send_ready();
}

void request_link::send_ready() {
  if (!sender_) return;
  for (auto& p : pending_) {
    if (p.on_wire) continue;
    if (pn_link_credit(sender_) <= 0) return;
    const std::string tag = std::to_string(p.id);
    pn_delivery_t* d = pn_delivery(sender_, pn_dtag(tag.data(), tag.size()));
    pn_link_send(sender_, p.encoded.data(), p.encoded.size());
    pn_link_advance(sender_);
    pn_delivery_settle(d);  // pre-settled: the answer is the response message
    p.on_wire = true;
  }
}

bool request_link::overdue(std::chrono::steady_clock::time_point limit) const {
  return !pending_.empty() && pending_.front().sent < limit;
}

std::size_t request_link::expire(std::chrono::steady_clock::time_point limit) {
  // Take them out first: a callback may queue new requests (or close the connection).
  std::vector<callback> expired;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->sent < limit) {
      expired.push_back(std::move(it->cb));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  response r;
  r.timed_out = true;
  r.description = "no answer within the request timeout";
  for (auto& cb : expired)
    if (cb) cb(r);
  return expired.size();
}

void request_link::on_response(pn_message_t* m) {
  response r;
  if (!read_status(pn_message_properties(m), r)) r.status = 0;
  pn_data_t* body = pn_message_body(m);
  pn_data_rewind(body);
  r.body = pn_data_next(body) ? body : nullptr;
  // Match correlation-id to a request's message-id; without one, the oldest request.
  pn_data_t* cid = pn_message_correlation_id(m);
  pn_data_rewind(cid);
  auto it = pending_.begin();
  if (pn_data_next(cid) && pn_data_type(cid) == PN_ULONG) {
    const std::uint64_t id = pn_data_get_ulong(cid);
    it = std::find_if(pending_.begin(), pending_.end(), [id](const pending& p) { return p.id == id; });
  }
  if (it == pending_.end()) return;
  callback cb = std::move(it->cb);
  pending_.erase(it);
  if (cb) cb(r);
}

bool request_link::on_event(pn_event_t* e) {
  pn_link_t* l = pn_event_link(e);
  if (!l || (l != sender_ && l != receiver_)) return false;
  switch (pn_event_type(e)) {
    case PN_LINK_REMOTE_OPEN:
      if (l == sender_)
        sender_attached_ = true;
      else
        receiver_attached_ = true;
      send_ready();
      return true;
    case PN_LINK_FLOW:
      if (l == sender_) send_ready();
      return true;
    case PN_LINK_REMOTE_CLOSE:
    case PN_LINK_REMOTE_DETACH: {
      std::string why = condition_text(pn_link_remote_condition(l));
      if (!failure_) failure_ = {errc::link_error, node_ + ": " + (why.empty() ? "detached by the peer" : why)};
      pn_link_close(l);
      return true;
    }
    case PN_DELIVERY: {
      pn_delivery_t* d = pn_event_delivery(e);
      if (l == sender_) {  // a disposition for a request: nothing to do
        if (pn_delivery_updated(d)) pn_delivery_settle(d);
        return true;
      }
      if (!pn_delivery_readable(d) || pn_delivery_partial(d)) return true;
      const std::size_t n = pn_delivery_pending(d);
      buffer_.resize(n);
      const ssize_t got = pn_link_recv(receiver_, buffer_.data(), n);
      pn_link_advance(receiver_);
      pn_delivery_update(d, PN_ACCEPTED);
      pn_delivery_settle(d);
      if (pn_link_credit(receiver_) < 8) pn_link_flow(receiver_, 16 - pn_link_credit(receiver_));
      pn_message_clear(scratch_);
      if (got > 0 && pn_message_decode(scratch_, buffer_.data(), static_cast<std::size_t>(got)) == 0)
        on_response(scratch_);
      return true;
    }
    default:
      return true;
  }
}

}  // namespace iomt::transport::amqp::eventhubs
