# The live page (src/admin/page/): installed, bundled and embedded into the
# binary at build time, so that grpcscope serves it with no network at all.
#
#   1. package.json + package-lock.json are copied into the build directory and
#      `npm ci` installs exactly the locked versions there (uplot, esbuild),
#      again only when the lockfile or package.json changed (a stamp file).
#   2. esbuild bundles src/admin/page/src/main.js (ES modules; `import uPlot
#      from "uplot"` and uPlot's CSS resolve from that node_modules through
#      NODE_PATH) into one minified page.js and one page.css.
#   3. cmake/page_embed.cmake (run with `cmake -P`) writes a C++ source with
#      index.html, page.js and page.css as byte arrays; src/admin/page_assets.cc
#      serves them (/, /assets/page.js, /assets/page.css, /report.html).
#
# Nothing generated is committed. Include from src/CMakeLists.txt before
# grpcscope_core is defined; it sets GRPCSCOPE_PAGE_ASSETS_SOURCES, the
# generated source to add to that library.
include_guard(GLOBAL)

find_program(GRPCSCOPE_NODE node)
find_program(GRPCSCOPE_NPM npm)
if(NOT GRPCSCOPE_NODE OR NOT GRPCSCOPE_NPM)
  message(FATAL_ERROR "grpcscope's live page is bundled at build time and needs `node` and `npm` "
                      "(found node: '${GRPCSCOPE_NODE}', npm: '${GRPCSCOPE_NPM}'): "
                      "install Node.js 18+ and npm: scripts/deps.sh does")
endif()
execute_process(COMMAND ${GRPCSCOPE_NODE} --version OUTPUT_VARIABLE _page_node_version
                OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _page_node_rc)
string(REGEX MATCH "^[^\n]*" _page_node_version "${_page_node_version}")
string(REGEX MATCH "^v([0-9]+)" _page_node_major "${_page_node_version}")
if(NOT _page_node_rc EQUAL 0 OR NOT _page_node_major OR CMAKE_MATCH_1 LESS 18)
  message(FATAL_ERROR "grpcscope's live page needs Node.js 18 or later (${GRPCSCOPE_NODE} is "
                      "'${_page_node_version}'): install Node.js 18+ and npm: scripts/deps.sh does")
endif()

set(_page_src ${PROJECT_SOURCE_DIR}/src/admin/page)
set(_page_out ${PROJECT_BINARY_DIR}/page)
file(MAKE_DIRECTORY ${_page_out})

# 1. npm ci with the project's lockfile. --ignore-scripts: esbuild's
# postinstall only swaps its JS launcher for the native binary; the launcher
# (node_modules/esbuild/bin/esbuild) finds that binary in the platform
# package (@esbuild/linux-x64) by itself.
add_custom_command(
  OUTPUT ${_page_out}/npm-ci.stamp
  COMMAND ${CMAKE_COMMAND} -E copy_if_different ${_page_src}/package.json ${_page_src}/package-lock.json ${_page_out}
  COMMAND ${CMAKE_COMMAND} -E env npm_config_update_notifier=false
          ${GRPCSCOPE_NPM} ci --no-audit --no-fund --ignore-scripts --loglevel=error
  COMMAND ${CMAKE_COMMAND} -E touch ${_page_out}/npm-ci.stamp
  DEPENDS ${_page_src}/package.json ${_page_src}/package-lock.json
  WORKING_DIRECTORY ${_page_out}
  COMMENT "page: npm ci (uplot, esbuild from src/admin/page/package-lock.json)"
  VERBATIM)

# 2. esbuild: one IIFE script and one stylesheet (the CSS that main.js imports).
file(GLOB_RECURSE _page_inputs CONFIGURE_DEPENDS ${_page_src}/src/*)
add_custom_command(
  OUTPUT ${_page_out}/page.js ${_page_out}/page.css
  COMMAND ${CMAKE_COMMAND} -E env NODE_PATH=${_page_out}/node_modules
          ${GRPCSCOPE_NODE} ${_page_out}/node_modules/esbuild/bin/esbuild
          ${_page_src}/src/main.js --bundle --format=iife --minify --target=es2020
          --outfile=${_page_out}/page.js --log-level=warning
  DEPENDS ${_page_out}/npm-ci.stamp ${_page_inputs}
  WORKING_DIRECTORY ${_page_out}
  COMMENT "page: esbuild src/admin/page/src/main.js -> page.js, page.css"
  VERBATIM)

# 3. The bytes as a C++ source.
set(_page_embedded ${PROJECT_BINARY_DIR}/generated/page/page_assets_data.cc)
add_custom_command(
  OUTPUT ${_page_embedded}
  COMMAND ${CMAKE_COMMAND}
          -DINDEX_HTML=${_page_src}/index.html
          -DPAGE_JS=${_page_out}/page.js
          -DPAGE_CSS=${_page_out}/page.css
          -DOUTPUT=${_page_embedded}
          -P ${PROJECT_SOURCE_DIR}/cmake/page_embed.cmake
  DEPENDS ${_page_src}/index.html ${_page_out}/page.js ${_page_out}/page.css ${PROJECT_SOURCE_DIR}/cmake/page_embed.cmake
  COMMENT "page: embed index.html, page.js, page.css"
  VERBATIM)

set(GRPCSCOPE_PAGE_ASSETS_SOURCES ${_page_embedded})
