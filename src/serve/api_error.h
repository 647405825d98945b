#pragma once
// An error answer in the shape OpenAI's API and its client libraries expect:
// {"error": {"message", "type", "param", "code"}} with a matching HTTP status.
// Handlers throw ApiError; the server turns it into the response.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace whet::serve {

struct ApiError : std::runtime_error {
  int status;
  std::string type;   // "invalid_request_error", "authentication_error", "not_found_error", "server_error", ...
  std::string param;  // the request field at fault, or ""
  std::string code;   // a machine-readable reason, or ""
  ApiError(int status, std::string type, std::string message, std::string param = "", std::string code = "")
      : std::runtime_error(std::move(message)), status(status), type(std::move(type)), param(std::move(param)),
        code(std::move(code)) {}
};

// 400 invalid_request_error naming the field.
inline ApiError invalid_request(std::string message, std::string param = "", std::string code = "") {
  return ApiError(400, "invalid_request_error", std::move(message), std::move(param), std::move(code));
}
inline ApiError not_found(std::string message, std::string param = "", std::string code = "") {
  return ApiError(404, "invalid_request_error", std::move(message), std::move(param), std::move(code));
}

inline nlohmann::json error_json(const ApiError& e) {
  auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"error", {{"message", e.what()}, {"type", e.type}, {"param", or_null(e.param)}, {"code", or_null(e.code)}}}};
}

}  // namespace whet::serve
