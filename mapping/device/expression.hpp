// A template expression compiled at load, and the two ways upstream evaluates one
// (iomt-spec §3.3-§3.5, §3.8, §3.9):
//   select_tokens - the type match (SelectTokens): every match, in order;
//   select_token  - every other field (SelectToken): one token, or nothing.
// Both JSONPath (Newtonsoft dialect) and JMESPath (+ MedTech functions) are adapted here, so the
// extractor never looks at the language.
#pragma once

#include "mapping/error.hpp"
#include "mapping/jmespath/expression.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/value.hpp"
#include "mapping/jsonpath/path.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iomt::mapping::device {

enum class expression_language : std::uint8_t { json_path, jmes_path };

// "JsonPath" / "JmesPath" (the TemplateExpressionLanguage enum names).
const char* to_string(expression_language l) noexcept;

class compiled_expression {
public:
  struct compile_error {
    std::string message;  // the parser's message
  };

  // JMESPath syntax, unknown-function and arity errors are returned (a load-time error upstream).
  // A JSONPath that does not parse is NOT an error here: upstream parses JSONPath on every
  // message, so the failure is kept and returned by every evaluation (see deferred_error()).
  static boost::system::result<compiled_expression, compile_error> compile(std::string_view text,
                                                                           expression_language language,
                                                                           json::source_pos pos = {});

  std::string_view text() const noexcept { return text_; }
  expression_language language() const noexcept { return language_; }
  // Where the expression is in the template (0/0 for built-in ones); prefixes
  // TemplateExpressionException messages like upstream's line-aware exceptions.
  json::source_pos pos() const noexcept { return pos_; }
  // The JSONPath parse error reported at every evaluation ("" when the expression parsed).
  const std::string& deferred_error() const noexcept { return deferred_error_; }

  // A key the document must contain somewhere for select_tokens to return anything or fail
  // (JSONPath only; jsonpath::path::required_key). nullopt: unknown, always evaluate.
  std::optional<std::string_view> required_key() const noexcept {
    return json_path_ ? json_path_->required_key() : std::nullopt;
  }

  // The key of a `$..[?(@key)]` JSONPath (jsonpath::path::scan_exists_key): select_tokens then
  // never fails and returns the objects (root included, pre-order) that have that key.
  std::optional<std::string_view> scan_exists_key() const noexcept {
    return json_path_ ? json_path_->scan_exists_key() : std::nullopt;
  }

  // SelectTokens (iomt-spec §3.4 step 2, §3.9): appends every match to `out`. JMESPath: each
  // element of a projection, else the single non-null result. Temporaries go to `scratch`.
  result<void> select_tokens(const json::value& root, json::arena& scratch, std::vector<json::value>& out) const;

  // SelectToken (iomt-spec §3.5): the single token; nullopt when nothing is selected (JMESPath:
  // also a JSON null result). More than one token -> TemplateExpressionException.
  result<std::optional<json::value>> select_token(const json::value& root, json::arena& scratch) const;

private:
  compiled_expression(std::string text, expression_language l, json::source_pos pos)
      : text_(std::move(text)), language_(l), pos_(pos) {}

  std::string text_;
  expression_language language_;
  json::source_pos pos_;
  std::optional<jsonpath::path> json_path_;
  std::optional<jmespath::expression> jmes_path_;
  std::string deferred_error_;
};

}  // namespace iomt::mapping::device
