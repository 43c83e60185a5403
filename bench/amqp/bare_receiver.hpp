// The broker's raw drain rate for bench/amqp: a bare Qpid Proton receiver (pn_connection_driver
// over a blocking TLS socket, credit window, accept + settle each delivery at once, no decoding,
// no pipeline). What iomtflow's AMQP ingest is compared with.
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>

namespace iomt::bench {

struct bare_receiver_options {
  std::string url, ca, user, password, address;
  std::size_t count = 0;  // stop after this many (or 3 s without a delivery)
  int credit = 1000;
};

struct drain_result {
  std::size_t received = 0;
  double seconds = 0;  // first delivery .. last delivery
};

boost::system::result<drain_result, std::string> bare_drain(const bare_receiver_options& o);

}  // namespace iomt::bench
