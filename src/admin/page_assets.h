// The live page's files, embedded into the binary at build time
// (cmake/page_assets.cmake: npm ci, esbuild, then the bytes as a C++ source),
// and the self-contained report built from them.
#pragma once

#include <string>
#include <string_view>

namespace grpcscope {

struct PageAsset {
  std::string_view content_type;
  std::string_view bytes;
};

// The asset served at `path` ("/", "/assets/page.js", "/assets/page.css"),
// or nullptr.
const PageAsset* findPageAsset(std::string_view path);

// One HTML file that needs no network: index.html with page.js and page.css
// inlined and `data_json` (the report's data: {"boot", "points", "snapshot",
// "calls"}) in `<script id="gs-data" type="application/json">`, which the
// page renders once instead of connecting. data_json must be JSON text; every
// `<` in it becomes `\u003c` (the same string to a JSON parser), so that
// neither `</script` nor `<!--` inside a value can end the element
// (HTML's script data states, WHATWG HTML 13.2.5.4).
std::string reportHtml(std::string_view data_json);

// The escaping reportHtml applies to data_json (exposed for tests).
std::string escapeJsonForScript(std::string_view json);

}  // namespace grpcscope
