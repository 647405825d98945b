#pragma once
// The paging of OpenAI's list endpoints (?after=ID&limit=N, newest first,
// {"object": "list", "data", "has_more", "first_id", "last_id"}), shared by
// the jobs, events, checkpoints and feedback lists.
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "serve/api_error.h"

namespace whet::serve {

// ?after=ID&limit=N as OpenAI's list endpoints take them.
inline std::pair<std::string, int> page(const httplib::Request& request) {
  int limit = 20;
  if (request.has_param("limit")) {
    const std::string text = request.get_param_value("limit");
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit < 1 || limit > 100)
      throw invalid_request("'limit' must be an integer from 1 to 100", "limit");
  }
  return {request.get_param_value("after"), limit};
}

// The store refuses an `after` it does not hold with its own message; the client
// hears about its parameter, not the server's database.
template <typename List>
auto listed(List list) {
  try {
    return list();
  } catch (const Error&) {
    throw invalid_request("'after' is not the id of an item of this list", "after");
  }
}

// One more than asked for tells whether there is a further page.
template <typename T, typename ToJson>
nlohmann::json list_page(std::vector<T> items, int limit, ToJson to_json) {
  const bool has_more = int(items.size()) > limit;
  if (has_more) items.resize(size_t(limit));
  nlohmann::json data = nlohmann::json::array();
  for (const T& item : items) data.push_back(to_json(item));
  nlohmann::json out = {{"object", "list"}, {"data", data}, {"has_more", has_more}};
  if (!data.empty()) {
    out["first_id"] = data.front()["id"];
    out["last_id"] = data.back()["id"];
  }
  return out;
}

}  // namespace whet::serve
