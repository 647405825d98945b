#pragma once
// The dashboard's files (src/serve/web/, and Chart.js from Debian's
// libjs-chart.js), built into the binary by cmake/embed_files.cmake so that
// `whet serve` shows the dashboard from the binary alone, without internet access.
#include <string_view>

namespace whet {

// The file's contents by its source path ("src/serve/web/app.js"); empty for a name that is not built in.
std::string_view web_asset(std::string_view name);

}  // namespace whet
