#include "admin/page_assets.h"

#include <cstddef>

// Defined in the source cmake/page_embed.cmake generates at build time.
namespace grpcscope::page_data {
extern const unsigned char kIndexHtml[];
extern const std::size_t kIndexHtmlSize;
extern const unsigned char kPageJs[];
extern const std::size_t kPageJsSize;
extern const unsigned char kPageCss[];
extern const std::size_t kPageCssSize;
}  // namespace grpcscope::page_data

namespace grpcscope {
namespace {

std::string_view view(const unsigned char* bytes, std::size_t size) {
  return {reinterpret_cast<const char*>(bytes), size};
}

// How index.html refers to the bundle; reportHtml replaces these two tags.
constexpr std::string_view kStylesheetTag = R"(<link rel="stylesheet" href="/assets/page.css">)";
constexpr std::string_view kScriptTag = R"(<script src="/assets/page.js"></script>)";

void replaceAll(std::string* text, std::string_view from, std::string_view to) {
  for (size_t at = text->find(from); at != std::string::npos; at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

// Replaces the first `tag` in html with `with`; appends `with` at `fallback`
// (or the end) if index.html lost the tag, so the report still works.
void replaceTag(std::string* html, std::string_view tag, const std::string& with, std::string_view fallback) {
  size_t at = html->find(tag);
  if (at != std::string::npos) {
    html->replace(at, tag.size(), with);
    return;
  }
  size_t before = html->rfind(fallback);
  html->insert(before == std::string::npos ? html->size() : before, with);
}

}  // namespace

const PageAsset* findPageAsset(std::string_view path) {
  static const PageAsset kIndex{"text/html; charset=utf-8", view(page_data::kIndexHtml, page_data::kIndexHtmlSize)};
  static const PageAsset kJs{"text/javascript; charset=utf-8", view(page_data::kPageJs, page_data::kPageJsSize)};
  static const PageAsset kCss{"text/css; charset=utf-8", view(page_data::kPageCss, page_data::kPageCssSize)};
  if (path == "/") return &kIndex;
  if (path == "/assets/page.js") return &kJs;
  if (path == "/assets/page.css") return &kCss;
  return nullptr;
}

std::string escapeJsonForScript(std::string_view json) {
  std::string out;
  out.reserve(json.size() + json.size() / 16);
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string reportHtml(std::string_view data_json) {
  std::string html(view(page_data::kIndexHtml, page_data::kIndexHtmlSize));
  // The bundle inlined. esbuild keeps `</script` and `</style` out of its
  // output already; the replacements are the guard if that ever changes
  // (`<\/` means `</` in a JS string or regex and in CSS).
  std::string css(view(page_data::kPageCss, page_data::kPageCssSize));
  replaceAll(&css, "</style", "<\\/style");
  std::string js(view(page_data::kPageJs, page_data::kPageJsSize));
  replaceAll(&js, "</script", "<\\/script");
  replaceTag(&html, kStylesheetTag, "<style>" + css + "</style>", "</head>");
  std::string scripts = "<script id=\"gs-data\" type=\"application/json\">" + escapeJsonForScript(data_json) +
                        "</script>\n<script>" + js + "</script>";
  replaceTag(&html, kScriptTag, scripts, "</body>");
  return html;
}

}  // namespace grpcscope
