#include "transport/amqp/eventhubs/blob_auth.hpp"

#include "mapping/text/ascii.hpp"
#include "transport/http/sas.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

namespace iomt::transport::amqp::eventhubs::blob {

namespace {

using mapping::text::iequals;
using mapping::text::to_lower;
using mapping::text::trim;

error bad(std::string what) { return {errc::bad_configuration, "blob checkpoint store: " + std::move(what)}; }

// Fills tls/host/port/base_path from an http(s) URL; returns its query (without '?').
boost::system::result<std::string, error> set_endpoint(storage_account& a, std::string_view url, const char* what) {
  auto u = boost::urls::parse_uri(url);
  if (!u) return bad(std::string(what) + " is not a URL: " + std::string(url.substr(0, 80)));
  const std::string scheme = to_lower(u->scheme());
  if (scheme != "https" && scheme != "http")
    return bad(std::string(what) + " must be https:// or http://, got " + std::string(url.substr(0, 80)));
  a.tls = scheme == "https";
  a.host = u->host_address();
  if (a.host.empty()) return bad(std::string(what) + " has no host: " + std::string(url.substr(0, 80)));
  a.port = u->has_port() ? std::string(u->port()) : (a.tls ? "443" : "80");
  a.base_path = u->encoded_path();
  while (!a.base_path.empty() && a.base_path.back() == '/') a.base_path.pop_back();
  return std::string(u->encoded_query());
}

bool valid_base64(std::string_view key) { return !key.empty() && http::base64_decode(key).has_value(); }

}  // namespace

std::string storage_account::host_header() const {
  const bool default_port = (tls && port == "443") || (!tls && port == "80");
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? h : h + ":" + port;
}

std::string storage_account::endpoint() const {
  return std::string(tls ? "https://" : "http://") + host_header() + base_path;
}

boost::system::result<storage_account, error> parse_storage_location(std::string_view text, std::string& container) {
  text = trim(text);
  storage_account a;
  if (text.empty()) return bad("the storage connection string is empty");
  if (to_lower(text.substr(0, 8)) == "https://" || to_lower(text.substr(0, 7)) == "http://") {
    auto q = set_endpoint(a, text, "the SAS URL");
    if (!q) return q.error();
    if (q->find("sig=") == std::string::npos) return bad("the SAS URL has no signature (sig=...)");
    a.sas = std::move(*q);
    // A container SAS URL ends with the container.
    const auto slash = a.base_path.rfind('/');
    if (slash != std::string::npos && slash + 1 < a.base_path.size()) {
      const std::string last = a.base_path.substr(slash + 1);
      if (container.empty()) {
        container = last;
        a.base_path.resize(slash);
      } else if (last == container) {
        a.base_path.resize(slash);
      }
    }
    return a;
  }
  std::map<std::string, std::string> kv;  // lower-case keys
  while (!text.empty()) {
    const auto semi = text.find(';');
    const std::string_view pair = trim(text.substr(0, semi));
    text = semi == std::string_view::npos ? std::string_view{} : text.substr(semi + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos)
      return bad("connection string part '" + std::string(pair.substr(0, 40)) + "' is not KEY=VALUE");
    kv[to_lower(trim(pair.substr(0, eq)))] = std::string(trim(pair.substr(eq + 1)));
  }
  auto get = [&](const char* k) -> std::string {
    auto it = kv.find(k);
    return it == kv.end() ? std::string() : it->second;
  };
  if (iequals(get("usedevelopmentstorage"), "true")) {
    a.tls = false;
    a.host = "127.0.0.1";
    a.port = "10000";
    a.base_path = "/" + std::string(dev_account);
    a.account_name = dev_account;
    a.account_key = dev_key;
    if (const auto proxy = get("developmentstorageproxyuri"); !proxy.empty()) {
      auto q = set_endpoint(a, proxy, "DevelopmentStorageProxyUri");
      if (!q) return q.error();
      a.port = "10000";
      a.base_path = "/" + std::string(dev_account);
    }
    return a;
  }
  a.account_name = get("accountname");
  a.account_key = get("accountkey");
  a.sas = get("sharedaccesssignature");
  if (!a.sas.empty() && a.sas.front() == '?') a.sas.erase(0, 1);
  if (const auto ep = get("blobendpoint"); !ep.empty()) {
    auto q = set_endpoint(a, ep, "BlobEndpoint");
    if (!q) return q.error();
  } else {
    if (a.account_name.empty()) return bad("the connection string has neither BlobEndpoint nor AccountName");
    const std::string protocol =
        get("defaultendpointsprotocol").empty() ? "https" : to_lower(get("defaultendpointsprotocol"));
    if (protocol != "https" && protocol != "http")
      return bad("DefaultEndpointsProtocol must be https or http, got '" + protocol + "'");
    const std::string suffix = get("endpointsuffix").empty() ? "core.windows.net" : get("endpointsuffix");
    a.tls = protocol == "https";
    a.host = a.account_name + ".blob." + suffix;
    a.port = a.tls ? "443" : "80";
  }
  if (!a.account_key.empty()) {
    if (a.account_name.empty()) return bad("AccountKey needs AccountName");
    if (!valid_base64(a.account_key)) return bad("AccountKey is not base64");
    a.sas.clear();  // the key wins, as in the SDKs
  } else if (a.sas.empty()) {
    return bad("the connection string has neither AccountKey nor SharedAccessSignature");
  } else if (a.sas.find("sig=") == std::string::npos) {
    return bad("SharedAccessSignature has no signature (sig=...)");
  }
  return a;
}

std::string encode_path(std::string_view path) {
  // RFC 3986 unreserved plus the segment separator; upper-case hex (what the Azure SDKs send).
  static constexpr auto path_chars = boost::urls::unreserved_chars + boost::urls::grammar::lut_chars('/');
  return boost::urls::encode(path, path_chars);
}

std::string request_target(const blob_request& r, std::string_view sas) {
  std::string t = r.path;
  char sep = '?';
  for (const auto& [k, v] : r.query) {
    t += sep;
    t += http::url_encode(k);
    t += '=';
    t += http::url_encode(v);
    sep = '&';
  }
  if (!sas.empty()) {
    t += sep;
    t += sas;
  }
  return t;
}

std::string shared_key_string_to_sign(std::string_view account_name, const blob_request& r) {
  auto header = [&](std::string_view name) -> std::string {
    for (const auto& [k, v] : r.headers)
      if (iequals(k, name)) return std::string(trim(v));
    return {};
  };
  std::string s = r.method + "\n";
  s += header("Content-Encoding") + "\n";
  s += header("Content-Language") + "\n";
  s += (r.content_length == 0 ? std::string() : std::to_string(r.content_length)) + "\n";
  s += header("Content-MD5") + "\n";
  s += header("Content-Type") + "\n";
  s += header("Date") + "\n";
  s += header("If-Modified-Since") + "\n";
  s += header("If-Match") + "\n";
  s += header("If-None-Match") + "\n";
  s += header("If-Unmodified-Since") + "\n";
  s += header("Range") + "\n";
  std::map<std::string, std::string> ms;  // sorted by lower-case name
  for (const auto& [k, v] : r.headers) {
    std::string name = to_lower(trim(k));
    if (name.rfind("x-ms-", 0) != 0) continue;
    auto& slot = ms[name];
    if (!slot.empty()) slot += ',';
    slot += trim(v);
  }
  for (const auto& [k, v] : ms) s += k + ":" + v + "\n";
  s += "/";
  s += account_name;
  s += r.path;
  std::map<std::string, std::vector<std::string>> q;
  for (const auto& [k, v] : r.query) q[to_lower(k)].push_back(v);
  for (auto& [k, vs] : q) {
    std::sort(vs.begin(), vs.end());
    s += "\n" + k + ":";
    for (std::size_t i = 0; i < vs.size(); ++i) s += (i ? "," : "") + vs[i];
  }
  return s;
}

std::string shared_key_authorization(std::string_view account_name, std::string_view key, const blob_request& r) {
  const auto raw = http::base64_decode(key).value_or(std::string());
  return "SharedKey " + std::string(account_name) + ":" +
         http::base64_encode(http::hmac_sha256(raw, shared_key_string_to_sign(account_name, r)));
}

std::string rfc1123(std::chrono::system_clock::time_point t) {
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::int64_t> parse_rfc1123(std::string_view t) {
  // "Wed, 25 Nov 2026 23:17:46 GMT"
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto comma = t.find(", ");
  if (comma == std::string_view::npos) return std::nullopt;
  t.remove_prefix(comma + 2);
  if (t.size() < 24 || t.substr(t.size() - 4) != " GMT") return std::nullopt;
  auto num = [](std::string_view s, int& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
  };
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0, month = -1;
  if (!num(t.substr(0, 2), day) || t[2] != ' ' || t[6] != ' ' || !num(t.substr(7, 4), year) || t[11] != ' ' ||
      !num(t.substr(12, 2), hh) || t[14] != ':' || !num(t.substr(15, 2), mm) || t[17] != ':' ||
      !num(t.substr(18, 2), ss))
    return std::nullopt;
  for (int i = 0; i < 12; ++i)
    if (t.substr(3, 3) == months[i]) month = i;
  if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  // Days since 1970-01-01 (civil calendar, H. Hinnant's days_from_civil).
  const int y = year - (month < 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = static_cast<unsigned>((month + 10) % 12);  // March = 0
  const unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(day) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  return ((days * 24 + hh) * 60 + mm) * 60000 + static_cast<std::int64_t>(ss) * 1000;
}

std::string ownership_prefix(std::string_view ns, std::string_view hub, std::string_view group) {
  return to_lower(std::string(ns) + "/" + std::string(hub) + "/" + std::string(group) + "/ownership/");
}

std::string ownership_blob_name(std::string_view ns, std::string_view hub, std::string_view group,
                                std::string_view partition) {
  return ownership_prefix(ns, hub, group) + std::string(partition);
}

std::string checkpoint_prefix(std::string_view ns, std::string_view hub, std::string_view group) {
  return to_lower(std::string(ns) + "/" + std::string(hub) + "/" + std::string(group) + "/checkpoint/");
}

std::string checkpoint_blob_name(std::string_view ns, std::string_view hub, std::string_view group,
                                 std::string_view partition) {
  return checkpoint_prefix(ns, hub, group) + to_lower(partition);
}

bool valid_container_name(std::string_view n) {
  if (n.size() < 3 || n.size() > 63) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-') return false;
    if (c == '-' && (i == 0 || i + 1 == n.size() || n[i - 1] == '-')) return false;
  }
  return n != "$root";
}

namespace {

std::string xml_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const auto semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out += s.substr(i);
      break;
    }
    const std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out += '&';
    else if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "quot")
      out += '"';
    else if (ent == "apos")
      out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      unsigned long cp = '?';
      const bool hexa = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
      const std::string_view digits = ent.substr(hexa ? 2 : 1);
      std::from_chars(digits.data(), digits.data() + digits.size(), cp, hexa ? 16 : 10);
      if (cp < 0x80)
        out += static_cast<char>(cp);
      else
        out += '?';  // names we write are ASCII
    } else {
      out += s.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

// The text of the first <tag>...</tag> in `s` (nullopt when absent; "" for <tag/>).
std::optional<std::string_view> element(std::string_view s, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string empty = "<" + std::string(tag) + " />";
  const std::string empty2 = "<" + std::string(tag) + "/>";
  const auto p = s.find(open);
  if (p == std::string_view::npos) {
    if (s.find(empty) != std::string_view::npos || s.find(empty2) != std::string_view::npos) return std::string_view{};
    return std::nullopt;
  }
  const auto start = p + open.size();
  const auto end = s.find("</" + std::string(tag) + ">", start);
  if (end == std::string_view::npos) return std::nullopt;
  return s.substr(start, end - start);
}

}  // namespace

boost::system::result<blob_listing, error> parse_blob_listing(std::string_view xml) {
  blob_listing out;
  if (xml.find("<EnumerationResults") == std::string_view::npos)
    return error{errc::management_error, "List Blobs answered something that is not an EnumerationResults document"};
  std::size_t pos = 0;
  while (true) {
    const auto b = xml.find("<Blob>", pos);
    if (b == std::string_view::npos) break;
    const auto e = xml.find("</Blob>", b);
    if (e == std::string_view::npos) return error{errc::management_error, "List Blobs: truncated <Blob> element"};
    const std::string_view blob = xml.substr(b + 6, e - b - 6);
    pos = e + 7;
    listed_blob lb;
    if (auto n = element(blob, "Name")) lb.name = xml_decode(*n);
    if (auto t = element(blob, "Etag")) {
      lb.etag = xml_decode(*t);
      if (!lb.etag.empty() && lb.etag.front() != '"') lb.etag = "\"" + lb.etag + "\"";
    }
    if (auto m = element(blob, "Metadata")) {
      if (auto o = element(*m, "offset")) lb.offset = xml_decode(*o);
      if (auto s = element(*m, "sequencenumber")) lb.sequence_number = xml_decode(*s);
      if (auto o = element(*m, "ownerid")) {
        lb.owner_id = xml_decode(*o);
        lb.has_owner_id = true;
      }
    }
    if (auto lm = element(blob, "Last-Modified")) lb.last_modified = xml_decode(*lm);
    out.blobs.push_back(std::move(lb));
  }
  // NextMarker sits after </Blobs>.
  const auto tail = xml.rfind("</Blobs>");
  if (auto m = element(tail == std::string_view::npos ? xml : xml.substr(tail), "NextMarker"))
    out.next_marker = xml_decode(*m);
  return out;
}

std::string error_code_of(std::string_view xml_body) {
  if (auto c = element(xml_body, "Code")) return xml_decode(*c);
  return {};
}

}  // namespace iomt::transport::amqp::eventhubs::blob
