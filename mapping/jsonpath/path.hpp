// Newtonsoft.Json 13.0.3 JSONPath (`JToken.SelectToken(s)`, the `JPath` dialect) over json::value
// (iomt-spec §3.8). Compile once at template load, select many times per message.
//
//   auto p = jsonpath::path::compile("$..[?(@Body.heartrate)]");
//   std::vector<const json::value*> hits;
//   if (p && p->select(envelope, hits)) ...
//
// Results are pointers into the document rooted at `root`, in Newtonsoft order (document order;
// listed order for `[1,0]` / `['b','a']`). The dialect is Newtonsoft's, quirks included (see
// the comments in parser.cpp and evaluator.cpp); it is not RFC 9535.
#pragma once

#include "mapping/json/value.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::jsonpath {

// A compile or evaluation failure. `message` is Newtonsoft's wording (e.g. "Unexpected character
// while parsing path: ]", "Path ended with open indexer."); `type` is the .NET exception Newtonsoft
// raises (JsonException, FormatException, OverflowException, ArgumentOutOfRangeException,
// InvalidCastException, ...); `position` is the byte offset in the expression where compilation
// stopped (npos for evaluation errors).
struct error {
  std::string message;
  std::string type = "JsonException";
  std::size_t position = std::string_view::npos;

  // "message (at position n)" for compile errors, `message` otherwise.
  std::string describe() const;
};

// Lets result<T, error>::value() throw on misuse (a bug, not data).
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location&);

namespace detail {
struct program;
}

class path {
public:
  // Parses `expr` (Newtonsoft JPath grammar). Regex literals used with `=~` are compiled here.
  static boost::system::result<path, error> compile(std::string_view expr);

  // Appends matches (pointers into the document rooted at `root`) in Newtonsoft order.
  // Runtime failures (negative single index on an array -> ArgumentOutOfRangeException, slice step
  // 0, failed comparison conversions, invalid regex) -> error; like Newtonsoft's lazy enumeration,
  // the matches found before the failure are already in `out`. A filter can select a JProperty
  // (e.g. `$.obj[?(@ != 1)]`); iomtflow has no such token, so selecting one is an error
  // (NotSupportedException). Thread-safe; allocates only when `out` grows (scratch is per thread).
  boost::system::result<void, error> select(const json::value& root, std::vector<const json::value*>& out) const;

  // Newtonsoft `SelectToken` (single): nullptr when nothing matches; more than one match ->
  // JsonException "Path returned multiple tokens." (raised as soon as the second match appears).
  boost::system::result<const json::value*, error> select_single(const json::value& root) const;

  // The expression as given to compile().
  std::string_view text() const;

  // A key that must exist somewhere in the document for select() to return anything or fail:
  // derived from the compiled steps (a filter such as `[?(@hr)]`, `[?(@hr.x == 1)]` reached only
  // through steps that cannot fail). nullopt when no such key is known. Lets callers skip
  // evaluation on documents that lack the key (the result would be empty, without error).
  std::optional<std::string_view> required_key() const;

  // Set when the path is exactly a scan filter testing one key's existence (`$..[?(@key)]`,
  // `$..[?(@.key)]`, `$..[?(@['key'])]`). Such a path never fails and selects, in pre-order, every
  // object among the root and its descendants that has a member called `key` (whatever its value).
  // Lets callers answer several such paths with one walk of the document.
  std::optional<std::string_view> scan_exists_key() const;

private:
  explicit path(std::shared_ptr<const detail::program> p) noexcept : prog_(std::move(p)) {}
  std::shared_ptr<const detail::program> prog_;
};

}  // namespace iomt::jsonpath
