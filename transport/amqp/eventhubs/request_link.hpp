// AMQP request/response on a node ("$cbs", "$management"), the pattern Event Hubs uses for
// claims-based security and management (AMQP Claims-based Security and AMQP Management drafts):
// a sender link to the node, a receiver link from it whose target is our reply address; requests
// carry message-id and reply-to, responses carry correlation-id and the application properties
// status-code / status-description. Sans-io, on the consumer's session.
//
// Thread-safety: none (the connection's strand).
#pragma once

#include "transport/amqp/error.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

struct pn_data_t;
struct pn_event_t;
struct pn_link_t;
struct pn_message_t;
struct pn_session_t;

namespace iomt::transport::amqp::eventhubs {

struct request {
  std::vector<std::pair<std::string, std::string>> properties;  // application properties (strings)
  std::string body;                                             // amqp-value string ("" = no body)
};

struct response {
  int status = 0;             // status-code (200, 202, 401, 404, ...)
  std::string description;    // status-description
  pn_data_t* body = nullptr;  // the amqp-value body (valid during the callback only)
  bool timed_out = false;     // no answer: expire() gave up on it (status 0)
};

class request_link {
public:
  using callback = std::function<void(const response&)>;

  request_link(std::string node, std::string reply_address);
  ~request_link();
  request_link(const request_link&) = delete;
  request_link& operator=(const request_link&) = delete;

  // Attaches both links on `session` (a new connection: pending requests are forgotten).
  void open(pn_session_t* session);
  void reset();  // the connection is gone

  // Queues a request; it goes out once the node has given credit.
  void call(const request& r, callback cb, std::chrono::steady_clock::time_point now);
  // Handles the events of its two links; false for anything else.
  bool on_event(pn_event_t* e);

  // The oldest request still waiting was sent before `limit`.
  bool overdue(std::chrono::steady_clock::time_point limit) const;
  // Gives up on every request sent before `limit`: each callback gets a response with timed_out set
  // (a late answer is then ignored). Lets one caller treat a lost answer as fatal (discovery) and
  // another as a value (a partition READ for the lag metric). Returns how many expired.
  std::size_t expire(std::chrono::steady_clock::time_point limit);
  const error& failure() const { return failure_; }
  bool attached() const { return sender_attached_ && receiver_attached_; }

private:
  struct pending {
    std::uint64_t id;
    std::string encoded;
    callback cb;
    std::chrono::steady_clock::time_point sent;
    bool on_wire = false;
  };
  void send_ready();
  void on_response(pn_message_t* m);

  std::string node_, reply_;
  pn_link_t* sender_ = nullptr;
  pn_link_t* receiver_ = nullptr;
  pn_message_t* scratch_;
  std::string buffer_;
  std::deque<pending> pending_;
  std::uint64_t next_id_ = 1;
  bool sender_attached_ = false, receiver_attached_ = false;
  error failure_;
};

}  // namespace iomt::transport::amqp::eventhubs
