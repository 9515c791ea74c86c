// The embedded live page (src/admin/page_assets.*): what each path serves,
// and the report's data escaping.
#include "admin/page_assets.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace grpcscope {
namespace {

// The text of the <script id="gs-data"> element in a report.
std::string dataOf(const std::string& html) {
  const std::string open = R"(<script id="gs-data" type="application/json">)";
  size_t begin = html.find(open);
  if (begin == std::string::npos) return "";
  begin += open.size();
  size_t end = html.find("</script", begin);  // where an HTML parser ends it
  return html.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

TEST(PageAssets, ServesThePageTheScriptAndTheStylesheet) {
  const PageAsset* index = findPageAsset("/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index->bytes.substr(0, 15), "<!doctype html>");
  EXPECT_NE(index->bytes.find(R"(<script src="/assets/page.js"></script>)"), std::string_view::npos);
  EXPECT_NE(index->bytes.find(R"(<link rel="stylesheet" href="/assets/page.css">)"), std::string_view::npos);
  for (const char* panel : {"findings", "methods", "timeline", "flow", "pings", "connections", "tls", "sizes", "calls"}) {
    EXPECT_NE(index->bytes.find(std::string("data-panel=\"") + panel + "\""), std::string_view::npos) << panel;
  }

  const PageAsset* js = findPageAsset("/assets/page.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js->bytes.find("/api/live"), std::string_view::npos);  // the page's own code
  EXPECT_EQ(js->bytes.find("import "), std::string_view::npos);     // one IIFE, no module left to fetch

  const PageAsset* css = findPageAsset("/assets/page.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  EXPECT_NE(css->bytes.find(".uplot"), std::string_view::npos);  // uPlot's stylesheet is bundled in

  // The arrays end with a 0 the sizes leave out.
  EXPECT_EQ(index->bytes.back(), '\n');
  EXPECT_EQ(index->bytes.data()[index->bytes.size()], '\0');
}

TEST(PageAssets, UnknownPathsAreNotAssets) {
  for (const char* path : {"", "/index.html", "/assets/", "/assets/page.js.map", "/assets/../page.js",
                           "/assets/page.jsx", "/report.html", "/api/summary", "//"}) {
    EXPECT_EQ(findPageAsset(path), nullptr) << path;
  }
}

TEST(PageAssets, EscapingKeepsTheJsonAndTakesEveryLessThanSign) {
  EXPECT_EQ(escapeJsonForScript(R"({"a":"</script>"})"), R"({"a":"\u003c/script>"})");
  EXPECT_EQ(escapeJsonForScript("<!--<<"), R"(\u003c!--\u003c\u003c)");
  EXPECT_EQ(escapeJsonForScript(R"({"x":1})"), R"({"x":1})");
  EXPECT_EQ(escapeJsonForScript(""), "");

  nlohmann::json j = {{"method", "pkg.Svc/</script><script>alert(1)</script>"},
                      {"note", "<!-- <script> </SCRIPT "},
                      {"unicode", "caf\u00e9 \u2028"},
                      {"n", 3}};
  std::string escaped = escapeJsonForScript(j.dump());
  EXPECT_EQ(escaped.find('<'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(escaped), j);  // the same value to a JSON parser
}

TEST(PageAssets, ReportIsOneFileWithTheDataInlined) {
  nlohmann::json data = {{"boot", "ab12"},
                         {"points", nlohmann::json::array()},
                         {"snapshot", {{"methods", {{"methods", {{{"method", "a.B/</script><!--"}}}}}}}},
                         {"calls", nlohmann::json::array()}};
  std::string html = reportHtml(data.dump());
  // Nothing left to fetch from the admin endpoint.
  EXPECT_EQ(html.find("/assets/page.js"), std::string::npos);
  EXPECT_EQ(html.find("/assets/page.css"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  const PageAsset* js = findPageAsset("/assets/page.js");
  EXPECT_NE(html.find(std::string(js->bytes.substr(0, 200))), std::string::npos);
  // The data element ends where it should, and parses back to the data.
  std::string text = dataOf(html);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(nlohmann::json::parse(text), data);
  // It comes before the bundle, which reads it when it starts.
  EXPECT_LT(html.find("id=\"gs-data\""), html.find("<script>"));
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

}  // namespace
}  // namespace grpcscope
