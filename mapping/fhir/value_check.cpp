#include "mapping/fhir/value_check.hpp"

#include <string>

namespace iomt::mapping::fhir {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// Printable excerpt for messages: at most 64 bytes, bytes outside printable ASCII as \xHH.
std::string excerpt(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (v.size() > 64) out += "... (" + std::to_string(v.size()) + " bytes)";
  return out;
}

std::optional<mapping_error> check_value(const value_template& t, const measurement& m) {
  if (t.kind != value_kind::sampled_data || !t.value_name) return std::nullopt;
  for (const auto& p : m.properties) {
    if (p.name != *t.value_name || is_fhir_decimal(p.value)) continue;
    return mapping_error{"InvalidSampledDataFhirValueException",
                         "Error encountered processing value: '" + excerpt(p.value) + "' of '" + p.name + "' (type '" +
                             m.type + "') is not a FHIR decimal; SampledData.data holds decimals only."};
  }
  return std::nullopt;
}

}  // namespace

bool is_fhir_decimal(std::string_view s) noexcept {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !digit(s[i])) return false;
  std::size_t significant = 0;
  bool leading = true;  // zeros before the first non-zero digit are not significant
  auto count = [&](char c) {
    if (c != '0') leading = false;
    if (!leading) ++significant;
  };
  if (s[i] == '0') {
    ++i;  // a lone integer zero: no leading zeros before other digits
  } else {
    while (i < s.size() && digit(s[i])) count(s[i++]);
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !digit(s[i])) return false;
    while (i < s.size() && digit(s[i])) count(s[i++]);
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !digit(s[i])) return false;
    int exponent = 0;
    while (i < s.size() && digit(s[i])) {
      if (exponent <= 28) exponent = exponent * 10 + (s[i] - '0');
      ++i;
    }
    if (exponent > 28) return false;
  }
  return i == s.size() && significant <= 28;
}

std::optional<mapping_error> check_sampled_data_values(const code_value_template& tpl, const measurement& m) {
  if (tpl.value)
    if (auto e = check_value(*tpl.value, m)) return e;
  if (tpl.components)
    for (const auto& c : *tpl.components)
      if (c.value)
        if (auto e = check_value(*c.value, m)) return e;
  return std::nullopt;
}

}  // namespace iomt::mapping::fhir
