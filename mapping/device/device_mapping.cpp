// Normalization of one envelope (iomt-spec §3.4; upstream CollectionContentTemplate,
// MeasurementExtractor.MatchTypeTokens and LegacyMeasurementExtractor).
#include "mapping/device/device_mapping.hpp"

#include "mapping/device/device_errors.hpp"
#include "mapping/device/extractor.hpp"
#include "mapping/device/template_loader.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace iomt::mapping::device {

namespace {

constexpr std::string_view matched_token_key = "matchedToken";

// The CalculatedContent evaluation root: the envelope's members plus "matchedToken" (replacing
// an existing member of that name in place, else appended last). Built once per message; each
// match only rewrites the matchedToken slot.
struct match_wrapper {
  json::member* members = nullptr;
  std::size_t size = 0;
  std::size_t slot = 0;

  void build(const json::value& envelope, json::arena& scratch) {
    const auto src = envelope.as_object();
    const auto it =
        std::find_if(src.begin(), src.end(), [](const json::member& m) { return m.key == matched_token_key; });
    size = src.size() + (it == src.end() ? 1 : 0);
    members = static_cast<json::member*>(scratch.allocate(size * sizeof(json::member), alignof(json::member)));
    std::uninitialized_copy(src.begin(), src.end(), members);
    if (it == src.end()) {
      slot = src.size();
      new (members + slot) json::member{matched_token_key, json::value{}};
    } else {
      slot = static_cast<std::size_t>(it - src.begin());
    }
  }

  json::value with(const json::value& match) {
    members[slot].val = match;
    return json::value::object_ref({members, size});
  }
};

// Key hashes for the per-message prefilter: FNV-1a, never 0 (0 marks "no key required").
std::uint64_t key_hash(std::string_view key) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h | 1;
}

// The object keys that occur anywhere in a message, as a small open-addressing set of hashes,
// filled by one walk on first use. A hash collision only means a template is evaluated anyway;
// too many keys -> "everything may be present" (no skipping).
class key_presence {
public:
  bool may_contain(const json::value& root, std::uint64_t h) {
    if (!filled_) fill(root);
    if (overflow_) return true;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots_[i] == h) return true;
      if (slots_[i] == 0) return false;
    }
  }

private:
  static constexpr std::size_t capacity = 128;  // power of two; at most half full
  static constexpr std::size_t mask = capacity - 1;
  std::uint64_t slots_[capacity];  // zeroed by fill(): most messages never need the set
  std::size_t count_ = 0;
  bool filled_ = false;
  bool overflow_ = false;

  void insert(std::uint64_t h) {
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots_[i] == h) return;
      if (slots_[i] == 0) {
        slots_[i] = h;
        overflow_ = ++count_ > capacity / 2;
        return;
      }
    }
  }

  // Iterative pre-order walk (no recursion: documents may be deep).
  void fill(const json::value& root) {
    filled_ = true;
    std::fill(std::begin(slots_), std::end(slots_), std::uint64_t{0});
    thread_local std::vector<const json::value*> stack;
    stack.clear();
    stack.push_back(&root);
    while (!stack.empty() && !overflow_) {
      const json::value* v = stack.back();
      stack.pop_back();
      if (v->is_object()) {
        for (const json::member& m : v->as_object()) {
          insert(key_hash(m.key));
          if (m.val.is_container()) stack.push_back(&m.val);
        }
      } else if (v->is_array()) {
        for (const json::value& item : v->as_array())
          if (item.is_container()) stack.push_back(&item);
      }
    }
  }
};

// The id of a field evaluation for shared_field_ids: equal ids <=> same field, same root kind, same
// JSONPath texts (in slot order). -1 when a slot is JMESPath or no expression is set.
class field_interner {
public:
  std::int32_t id(char field, bool wraps, std::initializer_list<const std::optional<compiled_expression>*> slots) {
    std::string key{field, wraps ? 'w' : 'm'};
    bool any = false;
    for (const std::optional<compiled_expression>* s : slots) {
      key.push_back('\x1f');
      if (!s->has_value()) continue;
      if ((*s)->language() != expression_language::json_path) return -1;
      any = true;
      key.push_back('+');
      key.append((*s)->text());
    }
    if (!any) return -1;
    const auto it = std::find(keys_.begin(), keys_.end(), key);
    if (it != keys_.end()) return static_cast<std::int32_t>(it - keys_.begin());
    keys_.push_back(std::move(key));
    return static_cast<std::int32_t>(keys_.size() - 1);
  }

private:
  std::vector<std::string> keys_;
};

}  // namespace

device_mapping::device_mapping(std::vector<content_template> t) : templates_(std::move(t)) {
  required_key_hash_.reserve(templates_.size());
  scan_slot_.reserve(templates_.size());
  for (const content_template& c : templates_) {
    std::optional<std::string_view> key = c.type_match ? c.type_match->required_key() : std::nullopt;
    std::optional<std::string_view> scan = c.type_match ? c.type_match->scan_exists_key() : std::nullopt;
    required_key_hash_.push_back(key && !scan ? key_hash(*key) : 0);
    scan_slot_.push_back(scan ? static_cast<std::int32_t>(scan_.add_key(*scan)) : -1);
  }
  field_interner fields;
  field_ids_.reserve(templates_.size());
  for (const content_template& c : templates_) {
    detail::shared_field_ids& ids = field_ids_.emplace_back();
    ids.device_id = fields.id('d', c.wraps_match, {&c.device_id});
    ids.timestamp = fields.id('t', c.wraps_match, {&c.timestamp, &c.timestamp_fallback});
    ids.correlation_id = fields.id('c', c.wraps_match, {&c.correlation_id});
    ids.patient_id = fields.id('p', c.wraps_match, {&c.patient_id});
    ids.encounter_id = fields.id('e', c.wraps_match, {&c.encounter_id});
  }
}

load_result device_mapping::load(std::string_view json_text) {
  detail::loaded_collection loaded = detail::load_collection(json_text);
  load_result r;
  r.mapping = std::shared_ptr<const device_mapping>(new device_mapping(std::move(loaded.templates)));
  r.errors = std::move(loaded.errors);
  return r;
}

std::vector<std::string> device_mapping::type_names() const {
  std::vector<std::string> names;
  names.reserve(templates_.size());
  for (const content_template& t : templates_) names.push_back(t.type_name);
  return names;
}

result<void> device_mapping::normalize(const json::value& envelope, json::arena& scratch, std::vector<measurement>& out,
                                       std::size_t max_out) const {
  if (templates_.empty()) return {};
  // Upstream GetMeasurements: EnsureArg.IsOfType(token, typeof(JObject)).
  if (!envelope.is_object())
    return mapping_error{"ArgumentException", "The event must be a JSON object. (Parameter 'token')"};

  thread_local std::vector<json::value> matches;
  thread_local std::vector<scan_index::hit> scan_hits;
  bool scanned = false;
  match_wrapper wrapper;
  key_presence keys;
  detail::field_memo memo(out);
  for (std::size_t i = 0; i < templates_.size(); ++i) {
    const content_template& t = templates_[i];
    // Checked when the matches are enumerated, i.e. per message (expected A9).
    if (!t.type_match) return detail::incompatible_data("An expression must be set for [TypeMatchExpression]");
    matches.clear();
    result<void> selected;
    if (scan_slot_[i] >= 0) {
      // `$..[?(@key)]`: read from the one walk shared by all such templates (cannot fail).
      if (!scanned) {
        scan_hits.clear();
        scan_.collect(envelope, scan_hits);
        scanned = true;
      }
      const auto slot = static_cast<std::uint32_t>(scan_slot_[i]);
      for (const scan_index::hit& h : scan_hits)
        if (h.slot == slot) matches.push_back(*h.object);
    } else {
      // The type match provably selects nothing (and cannot fail) without its key: skip it.
      if (required_key_hash_[i] != 0 && !keys.may_contain(envelope, required_key_hash_[i])) continue;
      // On a failure the matches found before it are still turned into measurements first, as
      // upstream's lazy SelectTokens enumeration does (partial output, §13.1).
      selected = t.type_match->select_tokens(envelope, scratch, matches);
    }
    if (!matches.empty() && t.wraps_match && !wrapper.members) wrapper.build(envelope, scratch);
    for (const json::value& match : matches) {
      if (out.size() >= max_out)
        return mapping_error{"MeasurementLimitException",
                             "more than " + std::to_string(max_out) + " measurements from one event"};
      const json::value root = t.wraps_match ? wrapper.with(match) : match;
      const std::size_t index = out.size();
      measurement& m = out.emplace_back();
      if (auto r = detail::extract_measurement(t, field_ids_[i], match, root, scratch, memo, index, m); !r) {
        out.pop_back();
        return r.error();
      }
    }
    if (!selected) return selected.error();
  }
  return {};
}

}  // namespace iomt::mapping::device
