// The continuous-training loops of the data folder (docs/loop.md), read as
// `whet watch` writes them: GET /v1/loops lists each loop with its newest
// decision; GET /v1/loops/NAME has every cycle's evaluation and decision.
#include "core/error.h"
#include "loop/loop_records.h"
#include "serve/api_error.h"
#include "serve/server_state.h"

namespace whet::serve {

void add_loop_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "GET", "/v1/loops", "loops", Access::Manage,
            [&state](const httplib::Request&, httplib::Response& response) {
              send_json(response, loop::loops_json(state.options.data_dir));
            });
  add_route(server, state, "GET", R"(/v1/loops/([^/]+))", "loop", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              nlohmann::json loop;
              try {
                loop = loop::loop_json(state.options.data_dir, request.matches[1].str());
              } catch (const Error& e) {
                throw not_found(e.what(), "name", "loop_not_found");
              }
              send_json(response, loop);
            });
}

}  // namespace whet::serve
