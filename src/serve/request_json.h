#pragma once
// A request body as a JSON object, or a 400 saying why not. The one entry point
// for every JSON body the server reads, so hostile nesting and bad text are
// refused the same way everywhere.
#include <nlohmann/json.hpp>
#include <string_view>

namespace whet::serve {

nlohmann::json parse_request_object(std::string_view body);

}  // namespace whet::serve
