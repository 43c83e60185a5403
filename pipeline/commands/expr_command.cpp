// `iomtflow expr`: evaluate one JMESPath or JSONPath expression exactly as templates do, so users
// can debug their expressions. The document is read like a message body (lenient, ISO dates become
// Date tokens, iomt-spec §2). Compile/evaluation errors exit 2 and name their kind.
#include "mapping/jmespath/expression.hpp"
#include "mapping/json/reader.hpp"
#include "mapping/json/writer.hpp"
#include "mapping/jsonpath/path.hpp"
#include "pipeline/commands/cli_args.hpp"
#include "pipeline/commands/commands.hpp"

#include <iostream>
#include <vector>

namespace iomt::cli {

namespace {
int fail(const char* kind, const std::string& message) {
  std::cerr << "error: " << kind << ": " << message << '\n';
  return 2;
}
}  // namespace

int expr(int argc, char** argv, int first) {
  args a(argc, argv, first, {});
  const auto jmes = a.get("jmespath"), jpath = a.get("jsonpath");
  if (!a.ok() || a.unknown({"jmespath", "jsonpath"}) || (jmes.has_value() == jpath.has_value()) ||
      a.positionals().size() > 1) {
    std::cerr << "usage: iomtflow expr (--jmespath EXPR | --jsonpath EXPR) [FILE]   (FILE defaults to stdin)\n";
    if (!a.ok()) std::cerr << "error: " << a.error() << '\n';
    return 2;
  }
  // Compile first: a bad expression is reported even when the input is bad too.
  std::optional<jmespath::expression> jm;
  std::optional<jsonpath::path> jp;
  if (jmes) {
    auto c = jmespath::expression::compile(*jmes);
    if (!c) return fail(jmespath::to_string(c.error().kind), c.error().message);
    jm.emplace(std::move(*c));
  } else {
    auto c = jsonpath::path::compile(*jpath);
    if (!c) return fail("syntax", c.error().message);
    jp.emplace(std::move(*c));
  }

  std::string err;
  auto text = read_input(a.positionals().empty() ? "-" : a.positionals()[0], err);
  if (!text) {
    std::cerr << "error: input: " << err << '\n';
    return 1;
  }
  json::body_reader reader;
  json::arena arena;
  auto doc = reader.read(*text, arena);
  if (!doc) {
    std::cerr << "error: input: not JSON: " << doc.error().message << '\n';
    return 1;
  }
  const json::value root = *doc;
  if (jm) {
    auto r = jm->search(root, arena);
    if (!r) return fail(jmespath::to_string(r.error().kind), r.error().message);
    std::cout << json::to_pretty_string(json::to_boost(r->value)) << '\n';
  } else {
    std::vector<const json::value*> matches;
    auto r = jp->select(root, matches);
    if (!r) return fail("invalid-value", r.error().message);
    boost::json::array out;
    for (const json::value* m : matches) out.push_back(json::to_boost(*m));
    std::cout << json::to_pretty_string(out) << '\n';
  }
  return 0;
}

}  // namespace iomt::cli
