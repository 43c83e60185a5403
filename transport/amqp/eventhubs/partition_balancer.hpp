// Dynamic partition ownership, the decision (sans-io): which partitions one processor claims in a
// load-balancing round, given the ownership records of its consumer group. The rule is the Azure
// SDKs' EventProcessorClient rule (azure-sdk-for-js event-hubs loadBalancingStrategy.ts,
// azure-sdk-for-net PartitionLoadBalancer.cs), so iomtflow replicas and SDK processors balance
// one consumer group together (docs/scaling.md):
//
//   - a record is active when its owner id is not empty and it was written less than `expiry` ago
//     (its Last-Modified); inactive records (expired, released with owner "", never written) are
//     free;
//   - the processors are the owners of active records plus this one; with P partitions and N
//     processors each should own floor(P/N), and P % N of them one more;
//   - balanced (every processor owns floor(P/N) or floor(P/N)+1, and exactly P % N own the extra
//     one): nothing to claim;
//   - otherwise this processor's target is floor(P/N), or floor(P/N)+1 while fewer than P % N
//     processors hold more than floor(P/N); below it, it claims free partitions first, then steals
//     from the processors that own more than their share, the most loaded first.
//
// Where the SDK picks at random, this picks by a stable preference (FNV-1a of owner id and
// partition id): deterministic for tests, and different processors prefer different partitions,
// so simultaneous claims rarely collide. Ties between equally loaded owners go to the lower owner
// id. Stealing interrupts another reader, so at most `max_steals` are planned per round (the SDK's
// balanced strategy: one); free partitions are claimed up to the target at once (its greedy
// strategy), which keeps takeover after a crash to one round.
//
// Every active record of this processor is renewed in each round (the SDK does the same), so a
// live owner's records never expire.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::transport::amqp::eventhubs {

// One ownership record as listed from the store.
struct ownership_record {
  std::string partition;
  std::string owner;                   // "" = released
  std::int64_t last_modified_ms = -1;  // Unix ms of the last write; -1 unknown (inactive)
  std::string etag;                    // for the conditional write that claims or renews it
};

enum class claim_kind { renew, claim, steal };
const char* claim_kind_name(claim_kind k) noexcept;  // "renew" | "claim" | "steal"

struct planned_claim {
  std::string partition;
  claim_kind kind = claim_kind::claim;
  std::string previous_owner;  // steal: the owner it is taken from; claim: an expired owner or ""
  std::string etag;            // If-Match; "" = the record does not exist yet (If-None-Match: *)
};

struct balance_options {
  std::chrono::milliseconds expiry{60000};  // a record older than this is free
  std::size_t max_steals = 1;               // steals planned per round
};

struct balance_plan {
  std::vector<planned_claim> claims;  // renewals (partition order), then claims, then steals
  std::size_t processors = 0;         // active owners, this one included
  std::size_t target = 0;             // partitions this processor aims for
  std::size_t owned = 0;              // active records of this processor
  bool balanced = false;              // nothing to claim: every processor holds its share
};

// True when `r` blocks others: an owner is set and it was written less than `expiry` before `now_ms`.
bool active(const ownership_record& r, std::int64_t now_ms, std::chrono::milliseconds expiry);

// The round for processor `self` over the hub's `partitions` (records for unknown partitions are
// ignored; a partition without a record is free). Pure: same input, same plan.
balance_plan plan_balance(std::string_view self, const std::vector<std::string>& partitions,
                          const std::vector<ownership_record>& records, std::int64_t now_ms,
                          const balance_options& options);

// The stable preference of `owner` for `partition` (lower = preferred).
std::uint64_t claim_preference(std::string_view owner, std::string_view partition) noexcept;

}  // namespace iomt::transport::amqp::eventhubs
