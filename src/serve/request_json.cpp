#include "serve/request_json.h"

#include "core/error.h"
#include "data/json_line.h"
#include "serve/api_error.h"

namespace whet::serve {

nlohmann::json parse_request_object(std::string_view text) {
  nlohmann::json body;
  try {
    body = parse_json_line(text, "request body");
  } catch (const Error& e) {
    throw invalid_request(e.what());
  }
  if (!body.is_object()) throw invalid_request("the request body must be a JSON object");
  return body;
}

}  // namespace whet::serve
