#include "transport/amqp/eventhubs/partition_balancer.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace iomt::transport::amqp::eventhubs {

const char* claim_kind_name(claim_kind k) noexcept {
  switch (k) {
    case claim_kind::renew:
      return "renew";
    case claim_kind::claim:
      return "claim";
    case claim_kind::steal:
      return "steal";
  }
  return "claim";
}

std::uint64_t claim_preference(std::string_view owner, std::string_view partition) noexcept {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(owner);
  mix("/");
  mix(partition);
  return h;
}

bool active(const ownership_record& r, std::int64_t now_ms, std::chrono::milliseconds expiry) {
  return !r.owner.empty() && r.last_modified_ms >= 0 && now_ms - r.last_modified_ms < expiry.count();
}

balance_plan plan_balance(std::string_view self, const std::vector<std::string>& partitions,
                          const std::vector<ownership_record>& records, std::int64_t now_ms,
                          const balance_options& options) {
  balance_plan plan;
  if (partitions.empty()) return plan;
  std::unordered_map<std::string, const ownership_record*> record_of;
  for (const auto& r : records)
    if (std::find(partitions.begin(), partitions.end(), r.partition) != partitions.end()) record_of[r.partition] = &r;

  // Active records by owner (std::map: owners in id order, the tie-break), this processor included.
  std::map<std::string, std::vector<std::string>, std::less<>> owners;
  owners[std::string(self)];
  std::vector<std::string> free;
  for (const auto& p : partitions) {
    auto it = record_of.find(p);
    if (it != record_of.end() && active(*it->second, now_ms, options.expiry))
      owners[it->second->owner].push_back(p);
    else
      free.push_back(p);
  }
  auto& mine = owners.find(self)->second;
  for (const auto& p : mine) plan.claims.push_back({p, claim_kind::renew, std::string(self), record_of[p]->etag});

  const std::size_t n = owners.size(), count = partitions.size();
  const std::size_t min = count / n, extra = count % n;
  std::size_t have_min = 0, have_extra = 0, too_many = 0;
  for (const auto& [owner, owned] : owners) {
    if (owned.size() == min)
      ++have_min;
    else if (owned.size() == min + 1)
      ++have_extra;
    else if (owned.size() > min + 1)
      ++too_many;
  }
  plan.processors = n;
  plan.owned = mine.size();
  plan.target = min + (extra > 0 && have_extra + too_many < extra ? 1 : 0);
  plan.balanced = have_extra == extra && have_min + have_extra == n;
  if (plan.balanced) {
    plan.target = mine.size();
    return plan;
  }
  if (plan.target <= mine.size()) return plan;
  std::size_t wanted = plan.target - mine.size();

  // Free partitions first, in this processor's order of preference.
  auto by_preference = [self](const std::string& a, const std::string& b) {
    const auto pa = claim_preference(self, a), pb = claim_preference(self, b);
    return pa != pb ? pa < pb : a < b;
  };
  std::sort(free.begin(), free.end(), by_preference);
  for (const auto& p : free) {
    if (wanted == 0) break;
    auto it = record_of.find(p);
    planned_claim c{p, claim_kind::claim, "", ""};
    if (it != record_of.end()) {
      c.previous_owner = it->second->owner;
      c.etag = it->second->etag;
    }
    plan.claims.push_back(std::move(c));
    --wanted;
  }

  // Then steal from those above their share, the most loaded first (ties: lower owner id).
  std::vector<std::pair<std::string, std::vector<std::string>>> victims;
  for (const auto& [owner, owned] : owners)
    if (owner != self && owned.size() > min) victims.emplace_back(owner, owned);
  std::stable_sort(victims.begin(), victims.end(),
                   [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
  std::size_t steals = 0, seen_with_extra = 0;
  for (auto& [owner, owned] : victims) {
    if (wanted == 0 || steals >= options.max_steals) break;
    const std::size_t keep = min + (seen_with_extra < extra ? 1 : 0);
    ++seen_with_extra;
    if (owned.size() <= keep) continue;
    std::size_t available = owned.size() - keep;
    std::sort(owned.begin(), owned.end(), by_preference);
    for (const auto& p : owned) {
      if (wanted == 0 || available == 0 || steals >= options.max_steals) break;
      plan.claims.push_back({p, claim_kind::steal, owner, record_of[p]->etag});
      --wanted;
      --available;
      ++steals;
    }
  }
  return plan;
}

}  // namespace iomt::transport::amqp::eventhubs
