#include "pipeline/designer/static_files.hpp"

#include "pipeline/designer/assets.hpp"

#include <algorithm>

namespace iomt::designer {

namespace {

constexpr std::string_view not_built_page = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>iomtflow designer</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;line-height:1.5}code{background:#f2f2f2;padding:0 .2em}</style>
</head><body>
<h1>iomtflow designer: the page was not built</h1>
<p>This iomtflow binary was built without the designer's web assets: <code>npm</code> was not available
(or could not install the packages) when it was built. The JSON API works:
<code>POST api/mapping/validate</code> and <code>POST api/mapping/test</code>.</p>
<p>To get the page, install Node.js 20 and npm, then rebuild iomtflow (the build runs
<code>npm ci</code> and <code>npm run build</code> in <code>designer/</code> and embeds the result).
See <code>docs/designer.md</code>.</p>
</body></html>
)";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const embedded_file* find_file(std::string_view relative) {
  auto files = embedded_files();
  auto it = std::lower_bound(files.begin(), files.end(), relative,
                             [](const embedded_file& f, std::string_view p) { return f.path < p; });
  return it != files.end() && it->path == relative ? &*it : nullptr;
}

}  // namespace

bool page_built() { return find_file("index.html") != nullptr; }

std::string_view content_type_for(std::string_view path) {
  struct entry {
    std::string_view ext, type;
  };
  static constexpr entry types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& t : types)
    if (ends_with(path, t.ext)) return t.type;
  return "application/octet-stream";
}

static_answer find_static(std::string_view path) {
  if (path.empty() || path == "/" || path == "/index.html") {
    if (const embedded_file* index = find_file("index.html"))
      return {200, "text/html; charset=utf-8", index->data, "no-cache"};
    return {200, "text/html; charset=utf-8", not_built_page, "no-cache"};
  }
  std::string_view relative = path.substr(1);
  if (const embedded_file* f = find_file(relative)) {
    const bool hashed = relative.substr(0, 7) == "assets/";
    return {200, content_type_for(relative), f->data, hashed ? "public, max-age=31536000, immutable" : "no-cache"};
  }
  return {404, "text/plain; charset=utf-8", "not found\n", "no-cache"};
}

}  // namespace iomt::designer
