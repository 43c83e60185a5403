// Link credit (AMQP 1.0 §2.6.7 flow control), sans-io. A receiver link is granted credit only
// while its unsettled deliveries stay below a bound: credit + unsettled <= max_unsettled, so the
// broker can never push more than the bound onto a link (STYLE habit 3: back-pressure reaches the
// broker). While the pipeline refuses work (submit -> busy) no credit is granted at all.
//
// Credit is topped up in steps of at least `max_unsettled / 4` (hysteresis), so a steady stream
// costs one flow frame per quarter window rather than one per message.
#pragma once

#include <cstddef>
#include <cstdint>

namespace iomt::transport::amqp {

struct credit_policy {
  std::uint32_t max_unsettled = 5000;  // per link: received, not yet settled (or completed)
};

// How much credit to add to a link that has `credit` left and `unsettled` deliveries in hand;
// 0 means send no flow frame now.
constexpr std::uint32_t credit_to_grant(const credit_policy& p, std::uint32_t credit, std::size_t unsettled,
                                        bool paused) noexcept {
  if (paused || p.max_unsettled == 0) return 0;
  if (unsettled + credit >= p.max_unsettled) return 0;
  const auto room = static_cast<std::uint32_t>(p.max_unsettled - unsettled - credit);
  const std::uint32_t step = p.max_unsettled / 4 > 0 ? p.max_unsettled / 4 : 1;
  // Top up when the missing credit is worth a frame, or when the link has run dry.
  if (room >= step || credit == 0) return room;
  return 0;
}

}  // namespace iomt::transport::amqp
