// Evaluator adapters (upstream JsonPathExpressionEvaluator / JmesPathExpressionEvaluator,
// iomt-spec §3.5, §3.8, §3.9).
#include "mapping/device/expression.hpp"

#include "mapping/device/device_errors.hpp"

namespace iomt::mapping::device {

const char* to_string(expression_language l) noexcept {
  return l == expression_language::jmes_path ? "JmesPath" : "JsonPath";
}

namespace {

// Reused selection buffer (JSONPath hands back pointers); one per thread, never nested.
std::vector<const json::value*>& selection_buffer() {
  thread_local std::vector<const json::value*> buf;
  buf.clear();
  return buf;
}

// A JSONPath failure while evaluating. Newtonsoft raises JsonException for path problems, which
// the evaluator wraps as TemplateExpressionException; SelectTokens only wraps the (eager) parse,
// so enumeration failures and other .NET exceptions (e.g. ArgumentOutOfRangeException for a
// negative single index) surface as they are (iomt-spec §3.8).
mapping_error json_path_runtime_error(const compiled_expression& e, const jsonpath::error& err,
                                      bool wrap_json_exception, std::string_view what) {
  if (wrap_json_exception && err.type == "JsonException")
    return detail::template_expression(e, std::string(what) + std::string(e.text()), err.message);
  return {err.type, err.message};
}

// A JMESPath evaluation failure: JmesPath.Net / the MedTech functions throw plain .NET exceptions
// that reach the caller unwrapped (iomt-spec §3.9, §13.1). The jmespath area reports .NET
// exceptions as "<ExceptionName>: <message>" (invalid-value); type errors are a plain Exception.
mapping_error jmes_path_runtime_error(const jmespath::error& err) {
  const std::string_view m = err.message;
  const std::size_t colon = m.find(": ");
  if (err.kind == jmespath::error_kind::invalid_value && colon != std::string_view::npos &&
      m.substr(0, colon).ends_with("Exception") && m.substr(0, colon).find(' ') == std::string_view::npos)
    return {std::string(m.substr(0, colon)), std::string(m.substr(colon + 2))};
  return {"Exception", err.message};
}

}  // namespace

boost::system::result<compiled_expression, compiled_expression::compile_error> compiled_expression::compile(
    std::string_view text, expression_language language, json::source_pos pos) {
  compiled_expression e(std::string(text), language, pos);
  if (language == expression_language::jmes_path) {
    auto c = jmespath::expression::compile(text);
    if (!c) return compile_error{c.error().message};
    e.jmes_path_.emplace(std::move(*c));
  } else {
    auto c = jsonpath::path::compile(text);
    if (c)
      e.json_path_.emplace(std::move(*c));
    else
      e.deferred_error_ = c.error().message.empty() ? std::string("Invalid JSONPath expression.") : c.error().message;
  }
  return e;
}

result<void> compiled_expression::select_tokens(const json::value& root, json::arena& scratch,
                                                std::vector<json::value>& out) const {
  if (jmes_path_) {
    auto r = jmes_path_->search(root, scratch);
    if (!r) return jmes_path_runtime_error(r.error());
    if (r->projection) {
      for (const json::value& v : r->value.as_array()) out.push_back(v);
    } else if (!r->value.is_null()) {
      out.push_back(r->value);
    }
    return {};
  }
  if (!json_path_)
    return detail::template_expression(*this, "Unable to retrieve JsonTokens using expression " + text_,
                                       deferred_error_);
  auto& buf = selection_buffer();
  auto r = json_path_->select(root, buf);
  // Like the lazy enumeration upstream, matches found before a failure are still delivered.
  for (const json::value* v : buf) out.push_back(*v);
  if (!r) return json_path_runtime_error(*this, r.error(), false, "Unable to retrieve JsonTokens using expression ");
  return {};
}

result<std::optional<json::value>> compiled_expression::select_token(const json::value& root,
                                                                     json::arena& scratch) const {
  if (jmes_path_) {
    auto r = jmes_path_->search(root, scratch);
    if (!r) return jmes_path_runtime_error(r.error());
    // A projection is returned as an array token; more than one element is an error (§3.5).
    if (r->projection && r->value.size() > 1)
      return detail::template_expression(*this, "Multiple tokens were returned using expression " + text_);
    if (r->value.is_null()) return std::optional<json::value>{};
    return std::optional<json::value>{r->value};
  }
  if (!json_path_)
    return detail::template_expression(*this, "Unable to retrieve JsonToken using expression " + text_,
                                       deferred_error_);
  // SelectToken: more than one match -> JsonException "Path returned multiple tokens.", wrapped.
  auto r = json_path_->select_single(root);
  if (!r) return json_path_runtime_error(*this, r.error(), true, "Unable to retrieve JsonToken using expression ");
  if (!*r) return std::optional<json::value>{};
  return std::optional<json::value>{**r};
}

}  // namespace iomt::mapping::device
