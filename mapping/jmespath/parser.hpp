// Top-down operator precedence (Pratt) parser of the JMESPath 2015 grammar into a program
// (ast.hpp). Function names are resolved and argument counts checked here, at compile time,
// because upstream parses every expression when the template is loaded (iomt-spec §3.1, §3.9).
#pragma once

#include "mapping/jmespath/ast.hpp"
#include "mapping/jmespath/expression.hpp"

#include <boost/system/result.hpp>

namespace iomt::jmespath {

// Fills p.nodes / p.children / p.keys / p.root from p.text (literals and identifiers go to
// p.storage). Errors: syntax (with position), unknown_function, invalid_arity, invalid_value
// (slice step 0).
boost::system::result<void, error> parse(program& p);

}  // namespace iomt::jmespath
