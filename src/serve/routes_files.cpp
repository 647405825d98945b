// /v1/files: training data uploaded for fine-tuning jobs. A file is checked
// line by line on upload, exactly as training will read it, and refused with
// its line-numbered errors. It is stored under the data folder with a name the
// server makes; the client's file name is only a label.
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/jsonl_reader.h"
#include "serve/api_error.h"
#include "serve/server_state.h"

namespace whet::serve {

namespace fs = std::filesystem;
using nlohmann::json;

json file_json(const StoredFile& f) {
  return {{"id", f.id},           {"object", "file"},      {"bytes", f.bytes},       {"created_at", f.created_at},
          {"filename", f.filename}, {"purpose", f.purpose}, {"status", "processed"}, {"status_details", nullptr}};
}

StoredFile store_training_file(ServerState& state, const std::string& filename, const std::string& content) {
  const std::string path = state.files_dir + "/" + random_id("upload") + ".jsonl";
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary);
    out.write(content.data(), std::streamsize(content.size()));
    if (!out.flush()) fail("serve", "cannot write an uploaded file under {}", state.files_dir);
  }
  ValidationReport report = validate_jsonl(partial, DataFormat::Auto, 10);
  // Prompts for a reinforcement job read as chat lines without an answer; the job checks which it wanted.
  if (report.error_count > 0)
    if (ValidationReport prompts = validate_jsonl(partial, DataFormat::Prompt, 10); prompts.error_count == 0)
      report = std::move(prompts);
  size_t examples = 0;
  for (size_t n : report.examples) examples += n;
  if (report.error_count > 0 || examples == 0) {
    fs::remove(partial);
    std::string message = examples == 0 && report.error_count == 0
                              ? fmt::format("'{}' holds no training examples", filename)
                              : fmt::format("'{}' has {} invalid line(s):", filename, report.error_count);
    for (std::string e : report.errors) {
      // Errors name the stored path; the client knows the file by its own name.
      if (size_t at = e.find(partial); at != std::string::npos) e.replace(at, partial.size(), filename);
      message += "\n" + e;
    }
    throw invalid_request(message, "file", "invalid_file");
  }
  fs::rename(partial, path);
  try {
    return state.store.add_file(filename, "fine-tune", int64_t(content.size()), int64_t(report.lines - report.blank),
                                path);
  } catch (...) {
    fs::remove(path);
    throw;
  }
}

namespace {

StoredFile find_file(ServerState& state, const std::string& id) {
  auto f = state.store.get_file(id);
  if (!f) throw not_found(fmt::format("No such file: '{}'", id), "file_id", "file_not_found");
  return *f;
}

}  // namespace

void add_file_routes(httplib::Server& server, ServerState& state) {
  add_route(server, state, "POST", "/v1/files", "files_upload", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              if (!request.is_multipart_form_data())
                throw invalid_request("upload a file as multipart/form-data with fields 'file' and 'purpose'");
              if (!request.has_file("file")) throw invalid_request("the 'file' field is required", "file");
              if (!request.has_file("purpose")) throw invalid_request("the 'purpose' field is required", "purpose");
              const std::string purpose = request.get_file_value("purpose").content;
              if (purpose != "fine-tune")
                throw invalid_request(fmt::format("purpose '{}' is not supported; use 'fine-tune'", purpose), "purpose");
              const auto file = request.get_file_value("file");
              const std::string filename = file.filename.empty() ? "upload.jsonl" : file.filename;
              send_json(response, file_json(store_training_file(state, filename, file.content)));
            });
  add_route(server, state, "GET", "/v1/files", "files_list", Access::Manage,
            [&state](const httplib::Request&, httplib::Response& response) {
              json data = json::array();
              for (const StoredFile& f : state.store.list_files()) data.push_back(file_json(f));
              send_json(response, {{"object", "list"}, {"data", data}, {"has_more", false}});
            });
  add_route(server, state, "GET", R"(/v1/files/([^/]+))", "file", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              send_json(response, file_json(find_file(state, request.matches[1].str())));
            });
  add_route(server, state, "GET", R"(/v1/files/([^/]+)/content)", "file_content", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const StoredFile f = find_file(state, request.matches[1].str());
              std::ifstream in(f.path, std::ios::binary);
              std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
              response.set_content(content, "application/jsonl");
            });
  add_route(server, state, "DELETE", R"(/v1/files/([^/]+))", "file_delete", Access::Manage,
            [&state](const httplib::Request& request, httplib::Response& response) {
              const StoredFile f = find_file(state, request.matches[1].str());
              state.store.delete_file(f.id);
              fs::remove(f.path);
              send_json(response, {{"id", f.id}, {"object", "file"}, {"deleted", true}});
            });
}

}  // namespace whet::serve
