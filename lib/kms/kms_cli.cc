#include "lib/kms/kms_cli.h"

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lib/kms/audit.h"
#include "lib/kms/crypto.h"
#include "lib/kms/kms_json.h"

namespace simplead::kms {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using nlohmann::json;

// "k=v,k2=v2" -> {"k":"v","k2":"v2"}; false on a pair without '='.
bool ParsePairs(const std::string& text, json& out) {
  out = json::object();
  if (text.empty()) return true;
  std::stringstream ss(text);
  std::string pair;
  while (std::getline(ss, pair, ',')) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    out[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return true;
}

struct Endpoint {
  std::string host;
  std::string port;
};

bool ParseEndpoint(const std::string& url, Endpoint& out) {
  constexpr std::string_view kHttp = "http://";
  if (url.rfind(kHttp, 0) != 0) return false;
  std::string rest = url.substr(kHttp.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos) return false;
  out.host = rest.substr(0, colon);
  out.port = rest.substr(colon + 1);
  return !out.host.empty() && !out.port.empty();
}

// Sends one request; returns the HTTP status and body, or -1 on I/O failure.
int Post(const Endpoint& ep, const std::string& operation, const std::string& body, const std::string& basic,
         std::string& response_body, std::string& error) {
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(resolver.resolve(ep.host, ep.port));
    http::request<http::string_body> req{http::verb::post, "/", 11};
    req.set(http::field::host, ep.host + ":" + ep.port);
    req.set(http::field::content_type, "application/x-amz-json-1.1");
    req.set(http::field::user_agent, "simplead-admin");
    req.set("X-Amz-Target", "TrentService." + operation);
    if (!basic.empty()) req.set(http::field::authorization, "Basic " + basic);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    response_body = res.body();
    return static_cast<int>(res.result_int());
  } catch (const std::exception& e) {
    error = e.what();
    return -1;
  }
}

}  // namespace

int RunKmsCli(int argc, char** argv) {
  CLI::App app{"Call the SimpleAD KMS over its HTTP JSON API (AWS KMS's TrentService protocol)", "kms"};
  std::string operations_text = "Operations:\n";
  for (const auto& op : KmsOperationNames()) operations_text += "  " + op + "\n";
  app.footer(operations_text +
             "\nBlobs (--ciphertext-blob) are base64; the response is printed as JSON.\n"
             "Example: simplead-admin kms Encrypt --key-id alias/app --plaintext hello "
             "--encryption-context dept=eng");
  std::string operation, key_id, plaintext, plaintext_file, blob, context, dest_key_id, dest_context, description,
      alias_name, target_key_id, key_spec, tags, tag_keys, policy, raw_json, user, password_file;
  std::string endpoint = "http://127.0.0.1:3390";  // simplead's default --kms-listen
  int64_t number_of_bytes = 0, pending_window = 0, rotation_period = 0;
  app.add_option("operation", operation, "the KMS operation (see the list below)")->required();
  app.add_option("--key-id", key_id, "key id, key ARN, alias name or alias ARN");
  app.add_option("--plaintext", plaintext, "plaintext (text) for Encrypt");
  app.add_option("--plaintext-file", plaintext_file, "read the plaintext from a file");
  app.add_option("--ciphertext-blob", blob, "ciphertext blob, base64");
  app.add_option("--encryption-context", context, "k=v,k2=v2");
  app.add_option("--destination-key-id", dest_key_id, "ReEncrypt: destination key");
  app.add_option("--destination-encryption-context", dest_context, "ReEncrypt: k=v,...");
  app.add_option("--description", description, "CreateKey: description");
  app.add_option("--alias-name", alias_name, "alias/...");
  app.add_option("--target-key-id", target_key_id, "CreateAlias: the key the alias names");
  app.add_option("--key-spec", key_spec, "GenerateDataKey: AES_256 or AES_128");
  app.add_option("--number-of-bytes", number_of_bytes, "GenerateDataKey/GenerateRandom: 1-1024");
  app.add_option("--pending-window-in-days", pending_window, "ScheduleKeyDeletion: 7-30");
  app.add_option("--rotation-period-in-days", rotation_period, "EnableKeyRotation: 90-2560");
  app.add_option("--tags", tags, "k=v,...");
  app.add_option("--tag-keys", tag_keys, "UntagResource: k1,k2");
  app.add_option("--policy", policy, "CreateKey/PutKeyPolicy: policy document (JSON)");
  app.add_option("--cli-input-json", raw_json, "the whole request document (JSON); flags override it");
  app.add_option("--endpoint", endpoint, "http://HOST:PORT of the KMS API")->capture_default_str();
  app.add_option("--user", user, "user name for HTTP Basic authentication (a directory bind name)");
  std::string token_file;
  app.add_option("--token-file", token_file,
                 "authenticate with the server's local KMS admin token instead (<data-dir>/kms/admin.token): "
                 "works even while the directory key is disabled");
  app.add_option("--password-file", password_file,
                 "file holding the password (first line); else $SIMPLEAD_KMS_PASSWORD");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const auto& ops = KmsOperationNames();
  if (std::find(ops.begin(), ops.end(), operation) == ops.end()) {
    std::cerr << "unknown operation '" << operation << "'; see --help\n";
    return 2;
  }
  json req = raw_json.empty() ? json::object() : json::parse(raw_json, nullptr, false);
  if (req.is_discarded() || !req.is_object()) {
    std::cerr << "--cli-input-json is not a JSON object\n";
    return 2;
  }
  if (!plaintext_file.empty()) {
    std::ifstream in(plaintext_file, std::ios::binary);
    if (!in) {
      std::cerr << "cannot read " << plaintext_file << "\n";
      return 2;
    }
    plaintext.assign(std::istreambuf_iterator<char>(in), {});
  }
  json ctx, dctx, tag_pairs;
  if (!ParsePairs(context, ctx) || !ParsePairs(dest_context, dctx) || !ParsePairs(tags, tag_pairs)) {
    std::cerr << "contexts and tags are written k=v,k2=v2\n";
    return 2;
  }
  bool reencrypt = operation == "ReEncrypt";
  if (!key_id.empty()) req["KeyId"] = key_id;
  if (!plaintext.empty()) req["Plaintext"] = Base64Encode(plaintext);
  WipeString(plaintext);
  if (!blob.empty()) req["CiphertextBlob"] = blob;
  if (!ctx.empty()) req[reencrypt ? "SourceEncryptionContext" : "EncryptionContext"] = ctx;
  if (reencrypt && !key_id.empty()) {
    req.erase("KeyId");
    req["SourceKeyId"] = key_id;
  }
  if (!dest_key_id.empty()) req["DestinationKeyId"] = dest_key_id;
  if (!dctx.empty()) req["DestinationEncryptionContext"] = dctx;
  if (!description.empty()) req["Description"] = description;
  if (!alias_name.empty()) req["AliasName"] = alias_name;
  if (!target_key_id.empty()) req["TargetKeyId"] = target_key_id;
  if (!key_spec.empty()) req["KeySpec"] = key_spec;
  if (number_of_bytes != 0) req["NumberOfBytes"] = number_of_bytes;
  if (pending_window != 0) req["PendingWindowInDays"] = pending_window;
  if (rotation_period != 0) req["RotationPeriodInDays"] = rotation_period;
  if (!policy.empty()) req["Policy"] = policy;
  if (!tag_pairs.empty()) {
    json list = json::array();
    for (const auto& [k, v] : tag_pairs.items()) list.push_back({{"TagKey", k}, {"TagValue", v}});
    req["Tags"] = list;
  }
  if (!tag_keys.empty()) {
    json list = json::array();
    std::stringstream ss(tag_keys);
    std::string k;
    while (std::getline(ss, k, ',')) list.push_back(k);
    req["TagKeys"] = list;
  }

  Endpoint ep;
  if (!ParseEndpoint(endpoint, ep)) {
    std::cerr << "--endpoint must look like http://127.0.0.1:PORT\n";
    return 2;
  }
  std::string basic;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::string token;
    if (!in || !std::getline(in, token)) {
      std::cerr << "cannot read " << token_file << "\n";
      return 2;
    }
    std::string creds = "kms-admin:" + token;
    basic = Base64Encode(creds);
    WipeString(creds);
    WipeString(token);
  } else if (!user.empty()) {
    std::string password;
    if (!password_file.empty()) {
      std::ifstream in(password_file);
      if (!in || !std::getline(in, password)) {
        std::cerr << "cannot read " << password_file << "\n";
        return 2;
      }
    } else if (const char* env = std::getenv("SIMPLEAD_KMS_PASSWORD"); env && *env) {
      password = env;  // keeps the password off the command line
    }
    std::string creds = user + ":" + password;
    basic = Base64Encode(creds);
    WipeString(creds);
    WipeString(password);
  }
  std::string body, error;
  int status = Post(ep, operation, req.dump(), basic, body, error);
  WipeString(basic);
  if (status < 0) {
    std::cerr << "cannot reach the KMS at " << endpoint << ": " << error << "\n";
    return 2;
  }
  json res = json::parse(body, nullptr, false);
  if (status != 200) {
    if (!res.is_discarded() && res.is_object()) {
      std::cerr << res.value("__type", "Error") << ": " << res.value("message", "") << "\n";
    } else {
      std::cerr << "HTTP " << status << "\n";
    }
    return 1;
  }
  std::cout << (res.is_discarded() ? body : res.dump(2)) << "\n";
  return 0;
}

int RunAuditCli(int argc, char** argv) {
  CLI::App app{"Check SimpleAD's tamper-evident audit trail", "audit"};
  app.require_subcommand(1);
  std::string file;
  auto* verify = app.add_subcommand("verify", "check the SHA-256 chain and name the first bad line");
  verify->add_option("file", file, "the audit trail (JSON lines)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto result = VerifyAuditFile(file);
  if (!result.ok()) {
    std::cerr << "cannot verify " << file << ": " << result.status().message() << "\n";
    return 2;
  }
  if (!result->intact) {
    std::cout << "TAMPERED: " << file << ": " << result->reason << "\n";
    return 1;
  }
  std::cout << "OK: " << file << ": " << result->lines << " lines, chain intact\n";
  return 0;
}

}  // namespace simplead::kms
