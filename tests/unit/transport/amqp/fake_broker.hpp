// An in-memory AMQP 1.0 broker for the sans-io tests: a server-side Qpid Proton connection driver
// wired byte-for-byte to the client engine (no socket, no clock). It serves queues by address,
// counts unsettled deliveries per link, records every disposition, requeues released/modified
// messages like a queue broker, and can refuse attaches or fail the connection on demand.
#pragma once

#include "transport/amqp/consumer.hpp"
#include "transport/amqp/engine.hpp"

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/connection_driver.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/terminus.h>
#include <proton/transport.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::test::amqp {

// Encodes a message: body as a data section, optional app properties / annotations.
struct message_builder {
  std::string body = "{}";
  std::vector<std::pair<std::string, std::string>> string_props;
  std::vector<std::pair<std::string, std::int64_t>> long_props;
  std::vector<std::pair<std::string, std::string>> string_annotations;
  std::int64_t sequence_number = -1;
  std::int64_t enqueued_ms = 0;
  std::string offset;
  std::string message_id;
  std::string content_type;

  std::string encode() const {
    pn_message_t* m = pn_message();
    pn_data_t* b = pn_message_body(m);
    pn_data_put_binary(b, pn_bytes(body.size(), body.data()));
    if (!string_props.empty() || !long_props.empty()) {
      pn_data_t* p = pn_message_properties(m);
      pn_data_put_map(p);
      pn_data_enter(p);
      for (const auto& [k, v] : string_props) {
        pn_data_put_string(p, pn_bytes(k.size(), k.data()));
        pn_data_put_string(p, pn_bytes(v.size(), v.data()));
      }
      for (const auto& [k, v] : long_props) {
        pn_data_put_string(p, pn_bytes(k.size(), k.data()));
        pn_data_put_long(p, v);
      }
      pn_data_exit(p);
    }
    if (!string_annotations.empty() || sequence_number >= 0 || enqueued_ms || !offset.empty()) {
      pn_data_t* a = pn_message_annotations(m);
      pn_data_put_map(a);
      pn_data_enter(a);
      auto sym = [&](std::string_view k) { pn_data_put_symbol(a, pn_bytes(k.size(), k.data())); };
      if (sequence_number >= 0) {
        sym("x-opt-sequence-number");
        pn_data_put_long(a, sequence_number);
      }
      if (!offset.empty()) {
        sym("x-opt-offset");
        pn_data_put_string(a, pn_bytes(offset.size(), offset.data()));
      }
      if (enqueued_ms) {
        sym("x-opt-enqueued-time");
        pn_data_put_timestamp(a, enqueued_ms);
      }
      for (const auto& [k, v] : string_annotations) {
        sym(k);
        pn_data_put_string(a, pn_bytes(v.size(), v.data()));
      }
      pn_data_exit(a);
    }
    if (!message_id.empty()) {
      pn_data_t* id = pn_message_id(m);
      pn_data_put_string(id, pn_bytes(message_id.size(), message_id.data()));
    }
    if (!content_type.empty()) pn_message_set_content_type(m, content_type.c_str());
    std::string out(64 + body.size() * 2 + 1024, '\0');
    std::size_t size = out.size();
    pn_message_encode(m, out.data(), &size);
    out.resize(size);
    pn_message_free(m);
    return out;
  }
};

struct disposition_record {
  std::string address;
  std::uint64_t state;  // PN_ACCEPTED, PN_RELEASED, PN_MODIFIED, PN_REJECTED
  bool failed;
  std::string payload;
};

class fake_broker {
public:
  fake_broker() {
    pn_connection_driver_init(&d_, pn_connection(), pn_transport());
    pn_transport_set_server(d_.transport);
    pn_sasl_allowed_mechs(pn_sasl(d_.transport), "ANONYMOUS");
    pn_connection_set_container(d_.connection, "fake-broker");
  }
  ~fake_broker() { pn_connection_driver_destroy(&d_); }

  std::map<std::string, std::deque<std::string>> queues;  // address -> encoded messages
  std::set<std::string> refuse;                           // addresses whose attach fails
  std::vector<disposition_record> dispositions;
  std::size_t max_unsettled = 0;  // highest unsettled count on any link
  std::size_t sent = 0;
  std::uint32_t max_frame = 0;  // server max frame (0 default)
  bool presettled = false;      // send pre-settled deliveries
  // Optional: a hook for links to other nodes ($cbs, $management); return true if handled.
  std::function<bool(pn_event_t*)> extra;

  void feed(std::string_view bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      pn_rwbytes_t b = pn_connection_driver_read_buffer(&d_);
      if (b.size == 0) break;
      std::size_t n = std::min(b.size, bytes.size() - off);
      std::memcpy(b.start, bytes.data() + off, n);
      pn_connection_driver_read_done(&d_, n);
      off += n;
    }
  }
  std::string_view output() {
    pn_bytes_t b = pn_connection_driver_write_buffer(&d_);
    return {b.start, b.size};
  }
  void output_done(std::size_t n) { pn_connection_driver_write_done(&d_, n); }
  // Handles everything that arrived, then sends on the links that got credit (so the
  // dispositions that came in the same read count first, as a broker reading frames in order).
  bool process() {
    bool any = false;
    while (pn_event_t* e = pn_connection_driver_next_event(&d_)) {
      any = true;
      handle(e);
    }
    if (any) pump_all();
    while (pn_event_t* e = pn_connection_driver_next_event(&d_)) handle(e);
    return any;
  }
  void pump_all() {
    for (auto& [l, st] : links_) pump(l);
  }
  // Ends the connection with an error (as a broker going away would).
  void close_connection(const char* cond, const char* desc) {
    pn_condition_t* c = pn_connection_condition(d_.connection);
    pn_condition_set_name(c, cond);
    pn_condition_set_description(c, desc);
    pn_connection_close(d_.connection);
  }
  void drop() {  // socket gone: both directions closed without AMQP close
    pn_connection_driver_close(&d_);
  }
  std::size_t unsettled() const {
    std::size_t n = 0;
    for (auto& [l, st] : links_) n += st.unsettled;
    return n;
  }
  std::size_t count(std::uint64_t state) const {
    return static_cast<std::size_t>(std::count_if(dispositions.begin(), dispositions.end(),
                                                  [&](const disposition_record& r) { return r.state == state; }));
  }
  pn_connection_t* connection() const { return d_.connection; }

private:
  struct link_st {
    std::string address;
    std::size_t unsettled = 0;
  };
  struct dlv_st {
    std::string payload;
  };

  void handle(pn_event_t* e) {
    if (extra && extra(e)) return;
    switch (pn_event_type(e)) {
      case PN_CONNECTION_REMOTE_OPEN:
        pn_connection_open(pn_event_connection(e));
        break;
      case PN_SESSION_REMOTE_OPEN:
        pn_session_open(pn_event_session(e));
        break;
      case PN_LINK_REMOTE_OPEN: {
        pn_link_t* l = pn_event_link(e);
        if (!pn_link_is_sender(l)) {
          pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
          pn_link_open(l);
          break;
        }
        const char* a = pn_terminus_get_address(pn_link_remote_source(l));
        std::string addr = a ? a : "";
        if (refuse.count(addr)) {
          pn_link_open(l);  // attach with a null source, then detach with the reason
          pn_condition_t* c = pn_link_condition(l);
          pn_condition_set_name(c, "amqp:not-found");
          pn_condition_set_description(c, ("no queue '" + addr + "'").c_str());
          pn_link_close(l);
          break;
        }
        pn_terminus_copy(pn_link_source(l), pn_link_remote_source(l));
        pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
        pn_link_open(l);
        links_[l] = link_st{addr, 0};
        break;
      }
      case PN_LINK_FLOW:  // process() pumps after the whole read
        break;
      case PN_DELIVERY: {
        pn_delivery_t* d = pn_event_delivery(e);
        pn_link_t* l = pn_delivery_link(d);
        if (!pn_link_is_sender(l) || !pn_delivery_updated(d)) break;
        auto it = links_.find(l);
        auto* ds = static_cast<dlv_st*>(pn_delivery_get_context(d));
        const std::uint64_t state = pn_delivery_remote_state(d);
        const bool failed = pn_disposition_is_failed(pn_delivery_remote(d));
        if (pn_delivery_settled(d) && ds) {
          dispositions.push_back({it != links_.end() ? it->second.address : "", state, failed, ds->payload});
          if ((state == PN_RELEASED || state == PN_MODIFIED) && it != links_.end())
            queues[it->second.address].push_front(ds->payload);  // requeue, as a queue broker does
          if (it != links_.end()) --it->second.unsettled;
          delete ds;
          pn_delivery_set_context(d, nullptr);
          pn_delivery_settle(d);
        }
        break;
      }
      case PN_LINK_REMOTE_CLOSE: {
        pn_link_t* l = pn_event_link(e);
        auto it = links_.find(l);
        // Unsettled deliveries go back to the queue when their link detaches.
        for (pn_delivery_t* d = pn_unsettled_head(l); d; d = pn_unsettled_next(d)) {
          auto* ds = static_cast<dlv_st*>(pn_delivery_get_context(d));
          if (!ds) continue;
          if (it != links_.end()) queues[it->second.address].push_front(ds->payload);
          delete ds;
          pn_delivery_set_context(d, nullptr);
        }
        pn_link_close(l);
        links_.erase(l);
        break;
      }
      case PN_SESSION_REMOTE_CLOSE:
        pn_session_close(pn_event_session(e));
        break;
      case PN_CONNECTION_REMOTE_CLOSE:
        pn_connection_close(pn_event_connection(e));
        break;
      case PN_CONNECTION_BOUND:
        if (max_frame) pn_transport_set_max_frame(d_.transport, max_frame);
        break;
      default:
        break;
    }
  }

  void pump(pn_link_t* l) {
    auto it = links_.find(l);
    if (it == links_.end()) return;
    auto& q = queues[it->second.address];
    while (pn_link_credit(l) > 0 && !q.empty()) {
      const std::string tag = std::to_string(++tag_);
      pn_delivery_t* d = pn_delivery(l, pn_dtag(tag.data(), tag.size()));
      pn_link_send(l, q.front().data(), q.front().size());
      ++sent;
      if (presettled) {
        pn_link_advance(l);
        pn_delivery_settle(d);
      } else {
        pn_delivery_set_context(d, new dlv_st{q.front()});
        pn_link_advance(l);
        ++it->second.unsettled;
        max_unsettled = std::max(max_unsettled, it->second.unsettled);
      }
      q.pop_front();
    }
  }

  pn_connection_driver_t d_{};
  std::map<pn_link_t*, link_st> links_;
  std::uint64_t tag_ = 0;
};

// Moves bytes and events between a client engine + consumer and the fake broker until quiet.
inline void run(transport::amqp::engine& e, transport::amqp::consumer& c, fake_broker& b,
                const std::function<void(pn_event_t*)>& other = {}) {
  for (int round = 0; round < 100000; ++round) {
    bool progress = false;
    while (pn_event_t* ev = e.next_event()) {
      progress = true;
      if (!c.on_event(ev) && other) other(ev);
    }
    c.flush();
    if (auto out = e.output(); !out.empty()) {
      b.feed(out);
      e.output_done(out.size());
      progress = true;
    }
    if (b.process()) progress = true;
    if (auto out = b.output(); !out.empty()) {
      e.feed(out);
      b.output_done(out.size());
      progress = true;
    }
    if (!progress && !e.has_event()) return;
  }
}

}  // namespace iomt::test::amqp
