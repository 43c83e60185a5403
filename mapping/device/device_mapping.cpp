// Normalization of one envelope (iomt-spec §3.4; upstream CollectionContentTemplate,
// MeasurementExtractor.MatchTypeTokens and LegacyMeasurementExtractor).
#include "mapping/device/device_mapping.hpp"

#include "mapping/device/device_errors.hpp"
#include "mapping/device/extractor.hpp"
#include "mapping/device/template_loader.hpp"

#include <algorithm>

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
    const auto it = std::find_if(src.begin(), src.end(), [](const json::member& m) { return m.key == matched_token_key; });
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

}  // namespace

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

result<void> device_mapping::normalize(const json::value& envelope, json::arena& scratch,
                                       std::vector<measurement>& out) const {
  if (templates_.empty()) return {};
  // Upstream GetMeasurements: EnsureArg.IsOfType(token, typeof(JObject)).
  if (!envelope.is_object())
    return mapping_error{"ArgumentException", "The event must be a JSON object. (Parameter 'token')"};

  thread_local std::vector<json::value> matches;
  match_wrapper wrapper;
  for (const content_template& t : templates_) {
    // Checked when the matches are enumerated, i.e. per message (expected A9).
    if (!t.type_match) return detail::incompatible_data("An expression must be set for [TypeMatchExpression]");
    matches.clear();
    // On a failure the matches found before it are still turned into measurements first, as
    // upstream's lazy SelectTokens enumeration does (partial output, §13.1).
    auto selected = t.type_match->select_tokens(envelope, scratch, matches);
    if (!matches.empty() && t.wraps_match && !wrapper.members) wrapper.build(envelope, scratch);
    for (const json::value& match : matches) {
      const json::value root = t.wraps_match ? wrapper.with(match) : match;
      measurement& m = out.emplace_back();
      if (auto r = detail::extract_measurement(t, root, scratch, m); !r) {
        out.pop_back();
        return r.error();
      }
    }
    if (!selected) return selected.error();
  }
  return {};
}

}  // namespace iomt::mapping::device
