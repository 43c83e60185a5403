// Serving the embedded web page (assets.hpp), sans-io: a request path below the designer's root
// -> what to answer. Hashed Vite assets (assets/...) are cached for good; index.html never is.
// When the page was not built (no npm at build time) "/" answers a page that says so.
#pragma once

#include <string>
#include <string_view>

namespace iomt::designer {

struct static_answer {
  unsigned status = 200;
  std::string_view content_type;
  std::string_view body;  // points into the embedded files or a static page
  std::string_view cache_control;
};

// `path`: the request path below the designer's root, starting with '/' ("/", "/assets/x.js").
static_answer find_static(std::string_view path);

// True when the page was built and embedded (false: the fallback page is served).
bool page_built();

std::string_view content_type_for(std::string_view path);

}  // namespace iomt::designer
