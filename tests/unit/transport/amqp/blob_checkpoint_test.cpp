// The blob checkpoint store's sans-io parts: storage connection strings and SAS URLs, Shared Key
// signing (fixed vectors: the string-to-sign written out by hand from the documented algorithm,
// the signature computed independently with
//   printf '%s' "$STRING_TO_SIGN" | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key hex> -binary | base64),
// the Azure SDKs' checkpoint blob names, and the List Blobs scanner.
#define BOOST_TEST_MODULE transport_amqp_blob_checkpoint
#include <boost/test/unit_test.hpp>

#include "transport/amqp/eventhubs/blob_auth.hpp"
#include "transport/amqp/eventhubs/open_checkpoint_store.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace blob = iomt::transport::amqp::eventhubs::blob;
namespace eh = iomt::transport::amqp::eventhubs;
using iomt::transport::amqp::errc;

namespace {

blob::storage_account parse(const std::string& text, std::string& container) {
  auto a = blob::parse_storage_location(text, container);
  BOOST_REQUIRE_MESSAGE(a, text << ": " << (a ? "" : a.error().message()));
  return *a;
}

blob::storage_account parse(const std::string& text) {
  std::string c = "checkpoints";
  return parse(text, c);
}

std::string parse_error(const std::string& text) {
  std::string c = "checkpoints";
  auto a = blob::parse_storage_location(text, c);
  BOOST_REQUIRE(!a);
  BOOST_TEST((a.error().code == errc::bad_configuration));
  return a.error().message();
}

const char* const date = "Wed, 25 Nov 2026 23:17:46 GMT";

blob::blob_request put_checkpoint() {
  blob::blob_request r;
  r.method = "PUT";
  r.path = "/devstoreaccount1/checkpoints/" +
           blob::encode_path(blob::checkpoint_blob_name("ns.servicebus.windows.net", "devicedata", "$Default", "0"));
  r.headers = {{"x-ms-blob-type", "BlockBlob"}, {"x-ms-meta-offset", "8192"}, {"x-ms-meta-sequencenumber", "42"},
               {"If-None-Match", "*"},          {"x-ms-date", date},          {"x-ms-version", "2021-12-02"}};
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(connection_string_with_account_key) {
  auto a = parse("DefaultEndpointsProtocol=https;AccountName=iomtstore;AccountKey=" + std::string(blob::dev_key) +
                 ";EndpointSuffix=core.windows.net");
  BOOST_TEST(a.tls);
  BOOST_TEST(a.host == "iomtstore.blob.core.windows.net");
  BOOST_TEST(a.port == "443");
  BOOST_TEST(a.base_path == "");
  BOOST_TEST(a.account_name == "iomtstore");
  BOOST_TEST(a.account_key == std::string(blob::dev_key));
  BOOST_TEST(a.endpoint() == "https://iomtstore.blob.core.windows.net");
  // Keys are case-insensitive, empty pairs ignored, the default suffix and protocol apply.
  auto b = parse(";accountname=x1;ACCOUNTKEY=" + std::string(blob::dev_key) + ";;");
  BOOST_TEST(b.host == "x1.blob.core.windows.net");
  BOOST_TEST(b.tls);
  auto c = parse("DefaultEndpointsProtocol=http;AccountName=x1;AccountKey=" + std::string(blob::dev_key) +
                 ";EndpointSuffix=core.chinacloudapi.cn");
  BOOST_TEST(c.host == "x1.blob.core.chinacloudapi.cn");
  BOOST_TEST(!c.tls);
  BOOST_TEST(c.port == "80");
}

BOOST_AUTO_TEST_CASE(connection_string_with_blob_endpoint_and_development_storage) {
  auto a = parse("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + std::string(blob::dev_key) +
                 ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;");
  BOOST_TEST(!a.tls);
  BOOST_TEST(a.host == "127.0.0.1");
  BOOST_TEST(a.port == "10000");
  BOOST_TEST(a.base_path == "/devstoreaccount1");
  BOOST_TEST(a.host_header() == "127.0.0.1:10000");
  BOOST_TEST(a.endpoint() == "http://127.0.0.1:10000/devstoreaccount1");

  auto d = parse("UseDevelopmentStorage=true");
  BOOST_TEST(d.endpoint() == "http://127.0.0.1:10000/devstoreaccount1");
  BOOST_TEST(d.account_name == "devstoreaccount1");
  BOOST_TEST(d.account_key == std::string(blob::dev_key));

  auto s =
      parse("BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?sv=2021-12-02&ss=b&sig=abc%3D");
  BOOST_TEST(s.tls);
  BOOST_TEST(s.base_path == "");
  BOOST_TEST(s.sas == "sv=2021-12-02&ss=b&sig=abc%3D");
  BOOST_TEST(s.account_key.empty());
}

BOOST_AUTO_TEST_CASE(sas_urls) {
  std::string container;
  auto a = parse("https://acct.blob.core.windows.net/checkpoints?sv=2021-12-02&sr=c&sp=racwl&sig=xyz%2B", container);
  BOOST_TEST(container == "checkpoints");  // taken from the URL
  BOOST_TEST(a.base_path == "");
  BOOST_TEST(a.sas == "sv=2021-12-02&sr=c&sp=racwl&sig=xyz%2B");
  BOOST_TEST(a.host == "acct.blob.core.windows.net");

  container = "checkpoints";  // configured and also in the URL (path-style, azurite)
  auto b = parse("http://127.0.0.1:10000/devstoreaccount1/checkpoints?sv=1&sig=s", container);
  BOOST_TEST(b.base_path == "/devstoreaccount1");
  BOOST_TEST(b.port == "10000");

  container = "other";  // an account SAS URL: the path is the account prefix
  auto c = parse("http://127.0.0.1:10000/devstoreaccount1?sv=1&sig=s", container);
  BOOST_TEST(c.base_path == "/devstoreaccount1");
  BOOST_TEST(container == "other");
}

BOOST_AUTO_TEST_CASE(bad_connection_strings_are_clear_errors) {
  BOOST_TEST(parse_error("") == "bad configuration: blob checkpoint store: the storage connection string is empty");
  BOOST_TEST(parse_error("AccountName=a") ==
             "bad configuration: blob checkpoint store: the connection string has neither AccountKey nor "
             "SharedAccessSignature");
  BOOST_TEST(
      parse_error("AccountKey=" + std::string(blob::dev_key)) ==
      "bad configuration: blob checkpoint store: the connection string has neither BlobEndpoint nor AccountName");
  BOOST_TEST(parse_error("AccountName=a;AccountKey=not base64!") ==
             "bad configuration: blob checkpoint store: AccountKey is not base64");
  BOOST_TEST(parse_error("AccountName=a;garbage") ==
             "bad configuration: blob checkpoint store: connection string part 'garbage' is not KEY=VALUE");
  BOOST_TEST(parse_error("https://acct.blob.core.windows.net/c?sv=1") ==
             "bad configuration: blob checkpoint store: the SAS URL has no signature (sig=...)");
  BOOST_TEST(parse_error("BlobEndpoint=ftp://x;AccountName=a;AccountKey=" + std::string(blob::dev_key)) ==
             "bad configuration: blob checkpoint store: BlobEndpoint must be https:// or http://, got ftp://x");
}

BOOST_AUTO_TEST_CASE(checkpoint_blob_names_follow_the_azure_sdk) {
  BOOST_TEST(blob::checkpoint_blob_name("MyNs.servicebus.windows.net", "DeviceData", "$Default", "0") ==
             "myns.servicebus.windows.net/devicedata/$default/checkpoint/0");
  BOOST_TEST(blob::checkpoint_prefix("ns", "hub", "g") == "ns/hub/g/checkpoint/");
  BOOST_TEST(blob::encode_path("ns/hub/$default/checkpoint/10") == "ns/hub/%24default/checkpoint/10");
  BOOST_TEST(blob::valid_container_name("checkpoints"));
  BOOST_TEST(blob::valid_container_name("iomt-eh-1"));
  BOOST_TEST(!blob::valid_container_name("Checkpoints"));
  BOOST_TEST(!blob::valid_container_name("ab"));
  BOOST_TEST(!blob::valid_container_name("a--b"));
  BOOST_TEST(!blob::valid_container_name("-ab"));
}

BOOST_AUTO_TEST_CASE(shared_key_put_blob_vector) {
  const auto r = put_checkpoint();
  const std::string expected =
      "PUT\n"
      "\n"   // Content-Encoding
      "\n"   // Content-Language
      "\n"   // Content-Length (empty for 0)
      "\n"   // Content-MD5
      "\n"   // Content-Type
      "\n"   // Date (x-ms-date is used)
      "\n"   // If-Modified-Since
      "\n"   // If-Match
      "*\n"  // If-None-Match
      "\n"   // If-Unmodified-Since
      "\n"   // Range
      "x-ms-blob-type:BlockBlob\n"
      "x-ms-date:Wed, 25 Nov 2026 23:17:46 GMT\n"
      "x-ms-meta-offset:8192\n"
      "x-ms-meta-sequencenumber:42\n"
      "x-ms-version:2021-12-02\n"
      "/devstoreaccount1/devstoreaccount1/checkpoints/ns.servicebus.windows.net/devicedata/%24default/checkpoint/0";
  BOOST_TEST(blob::shared_key_string_to_sign("devstoreaccount1", r) == expected);
  BOOST_TEST(blob::shared_key_authorization("devstoreaccount1", blob::dev_key, r) ==
             "SharedKey devstoreaccount1:wcxwN9Ayf5gFrksSbWOnH47QcHC9995BC/9bMXIHeMQ=");
}

BOOST_AUTO_TEST_CASE(shared_key_list_blobs_vector) {
  blob::blob_request r;
  r.method = "GET";
  r.path = "/devstoreaccount1/checkpoints";
  r.query = {{"restype", "container"},
             {"comp", "list"},
             {"prefix", "ns.servicebus.windows.net/devicedata/$default/checkpoint/"},
             {"include", "metadata"}};
  r.headers = {{"x-ms-version", "2021-12-02"}, {"X-MS-Date", date}};  // header names are case-insensitive
  const std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\n"
      "x-ms-date:Wed, 25 Nov 2026 23:17:46 GMT\n"
      "x-ms-version:2021-12-02\n"
      "/devstoreaccount1/devstoreaccount1/checkpoints\n"
      "comp:list\n"
      "include:metadata\n"
      "prefix:ns.servicebus.windows.net/devicedata/$default/checkpoint/\n"  // decoded value
      "restype:container";
  BOOST_TEST(blob::shared_key_string_to_sign("devstoreaccount1", r) == expected);
  BOOST_TEST(blob::shared_key_authorization("devstoreaccount1", blob::dev_key, r) ==
             "SharedKey devstoreaccount1:8HHcub8WvzMNLXz64yi5JGPd0UhHn5KmJHDgUfV2sPM=");
  // The target carries the encoded query (and a SAS when there is one).
  BOOST_TEST(
      blob::request_target(r) ==
      "/devstoreaccount1/checkpoints?restype=container&comp=list&prefix=ns.servicebus.windows.net%2Fdevicedata%2F%"
      "24default%2Fcheckpoint%2F&include=metadata");
  BOOST_TEST(blob::request_target(r, "sv=1&sig=x").ends_with("&include=metadata&sv=1&sig=x"));
}

BOOST_AUTO_TEST_CASE(shared_key_content_length_and_standard_headers) {
  blob::blob_request r;
  r.method = "PUT";
  r.path = "/acct/c/b";
  r.content_length = 11;
  r.headers = {{"Content-Type", "text/plain"}, {"If-Match", "\"0x8D1\""}, {"x-ms-date", date}};
  BOOST_TEST(blob::shared_key_string_to_sign("acct", r) ==
             "PUT\n\n\n11\n\ntext/plain\n\n\n\"0x8D1\"\n\n\n\nx-ms-date:Wed, 25 Nov 2026 23:17:46 GMT\n/acct/acct/c/b");
}

BOOST_AUTO_TEST_CASE(rfc1123_dates) {
  using namespace std::chrono;
  const sys_seconds t = sys_days{year{2026} / November / 25} + hours{23} + minutes{17} + seconds{46};
  BOOST_TEST(blob::rfc1123(t) == date);
  BOOST_TEST(blob::rfc1123(sys_days{year{2024} / February / 29}) == "Thu, 29 Feb 2024 00:00:00 GMT");
}

BOOST_AUTO_TEST_CASE(list_blobs_scanner) {
  const std::string xml =
      R"(<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="checkpoints">)"
      R"(<Prefix>ns/hub/$default/checkpoint/</Prefix><Blobs>)"
      R"(<Blob><Name>ns/hub/$default/checkpoint/0</Name><Properties><Etag>0x8DC1</Etag><Content-Length>0</Content-Length></Properties>)"
      R"(<Metadata><offset>8192</offset><sequencenumber>42</sequencenumber></Metadata></Blob>)"
      R"(<Blob><Name>ns/hub/$default/checkpoint/1&amp;x</Name><Properties><Etag>"0x8DC2"</Etag></Properties><Metadata /></Blob>)"
      R"(</Blobs><NextMarker>m&#47;2</NextMarker></EnumerationResults>)";
  auto l = blob::parse_blob_listing(xml);
  BOOST_REQUIRE(l);
  BOOST_REQUIRE_EQUAL(l->blobs.size(), 2u);
  BOOST_TEST(l->blobs[0].name == "ns/hub/$default/checkpoint/0");
  BOOST_TEST(l->blobs[0].etag == "\"0x8DC1\"");  // quoted, as If-Match wants it
  BOOST_TEST(l->blobs[0].offset == "8192");
  BOOST_TEST(l->blobs[0].sequence_number == "42");
  BOOST_TEST(l->blobs[1].name == "ns/hub/$default/checkpoint/1&x");
  BOOST_TEST(l->blobs[1].etag == "\"0x8DC2\"");
  BOOST_TEST(l->blobs[1].offset.empty());
  BOOST_TEST(l->next_marker == "m/2");
  auto empty = blob::parse_blob_listing(R"(<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>)");
  BOOST_REQUIRE(empty);
  BOOST_TEST(empty->blobs.empty());
  BOOST_TEST(empty->next_marker.empty());
  BOOST_TEST(!blob::parse_blob_listing("<html>proxy error</html>"));
  BOOST_TEST(!blob::parse_blob_listing("<EnumerationResults><Blobs><Blob><Name>x"));
  BOOST_TEST(blob::error_code_of(R"(<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code></Error>)") ==
             "AuthenticationFailed");
}

BOOST_AUTO_TEST_CASE(factory_defaults_to_the_file_store_and_rejects_bad_blob_options) {
  BOOST_TEST((eh::parse_checkpoint_kind("file") == eh::checkpoint_kind::file));
  BOOST_TEST((eh::parse_checkpoint_kind("blob") == eh::checkpoint_kind::blob));
  BOOST_TEST(!eh::parse_checkpoint_kind("s3"));
  eh::checkpoint_options o;
  BOOST_TEST((o.kind == eh::checkpoint_kind::file));
  o.kind = eh::checkpoint_kind::blob;
  o.blob.connection_string = "UseDevelopmentStorage=true";
  o.blob.container = "Bad_Name";
  auto [s, err] = eh::open_checkpoint_store(o, "ns", "hub", "$Default");
  BOOST_TEST(!s);
  BOOST_TEST(err.message().find("'Bad_Name' is not a container name") != std::string::npos, err.message());
  // Nothing listens there: a clear connection error, quickly (no hang).
  o.blob.container = "checkpoints";
  o.blob.connection_string =
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + std::string(blob::dev_key) +
      ";BlobEndpoint=http://127.0.0.1:1/devstoreaccount1";
  o.blob.http.connect_timeout = std::chrono::milliseconds(2000);
  auto [s2, err2] = eh::open_checkpoint_store(o, "ns", "hub", "$Default");
  BOOST_TEST(!s2);
  BOOST_TEST((err2.code == errc::connect_failed), err2.message());
  BOOST_TEST(err2.message().find("http://127.0.0.1:1/devstoreaccount1: connect: ") != std::string::npos,
             err2.message());
}

namespace {

// A store whose flush() blocks until released and then fails.
class slow_store final : public eh::checkpoint_store {
public:
  std::optional<eh::checkpoint> get(const std::string&) override { return std::nullopt; }
  void update(const std::string&, const eh::checkpoint&) override { ++updates; }
  iomt::transport::amqp::error flush() override {
    std::unique_lock l(mu);
    ++flushes;
    cv.notify_all();
    cv.wait(l, [&] { return released; });
    return {errc::management_error, "checkpoint blob 'x': HTTP 412"};
  }
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  int flushes = 0, updates = 0;
};

}  // namespace

BOOST_AUTO_TEST_CASE(background_flush_never_blocks_the_caller) {
  slow_store inner;
  {
    eh::background_flush_store bg(inner);
    bg.update("0", {1, 1});
    BOOST_TEST(inner.updates == 1);
    BOOST_TEST(!bg.flush());  // returns at once; the inner flush runs (and blocks) on bg's thread
    {
      std::unique_lock l(inner.mu);
      BOOST_TEST(inner.cv.wait_for(l, std::chrono::seconds(5), [&] { return inner.flushes == 1; }));
    }
    BOOST_TEST(!bg.flush());  // still busy: no error yet, one more flush requested
    {
      std::lock_guard l(inner.mu);
      inner.released = true;
    }
    inner.cv.notify_all();
    // The first flush's error is reported by a later call, once.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    iomt::transport::amqp::error err;
    while (!err && std::chrono::steady_clock::now() < deadline) {
      err = bg.flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    BOOST_TEST(err.message() == "management request failed: checkpoint blob 'x': HTTP 412");
  }  // joins after the pending flush
  BOOST_TEST(inner.flushes >= 2);
}
