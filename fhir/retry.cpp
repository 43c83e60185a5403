#include "fhir/retry.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>

namespace iomt::fhir {

namespace {

using std::chrono::milliseconds;

bool retryable_status(unsigned status) {
  if (status == 408) return true;
  // 501 Not Implemented and 505 HTTP Version Not Supported never heal.
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

std::string exhausted(int attempt, std::string cause) {
  return cause + " (gave up after " + std::to_string(attempt) + (attempt == 1 ? " attempt)" : " attempts)");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool parse_uint(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < names.size(); ++i)
    if (m == names[i]) return static_cast<int>(i) + 1;
  return 0;
}

// "HH:MM:SS" -> seconds of day, or -1.
int parse_clock(std::string_view s) {
  int h = 0, m = 0, sec = 0;
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return -1;
  if (!parse_uint(s.substr(0, 2), h) || !parse_uint(s.substr(3, 2), m) || !parse_uint(s.substr(6, 2), sec)) return -1;
  if (h > 23 || m > 59 || sec > 60) return -1;
  return h * 3600 + m * 60 + sec;
}

// Splits on runs of spaces.
std::size_t split_words(std::string_view s, std::array<std::string_view, 6>& out) {
  std::size_t n = 0;
  while (!s.empty() && n < out.size()) {
    auto b = s.find_first_not_of(' ');
    if (b == std::string_view::npos) break;
    s.remove_prefix(b);
    auto e = s.find(' ');
    out[n++] = s.substr(0, e);
    s.remove_prefix(e == std::string_view::npos ? s.size() : e);
  }
  return n;
}

// HTTP-date (RFC 9110 §5.6.7) -> UTC time, or nullopt.
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view v) {
  std::array<std::string_view, 6> w{};
  const std::size_t n = split_words(v, w);
  int y = 0, mo = 0, d = 0, secs = -1;
  if (n == 6 && w[0].size() == 4 && w[0][3] == ',' && w[5] == "GMT") {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (!parse_uint(w[1], d) || !parse_uint(w[3], y)) return std::nullopt;
    mo = month_index(w[2]);
    secs = parse_clock(w[4]);
  } else if (n == 4 && !w[0].empty() && w[0].back() == ',' && w[3] == "GMT" && w[1].size() == 9) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit year: 70-99 -> 19xx)
    if (w[1][2] != '-' || w[1][6] != '-') return std::nullopt;
    if (!parse_uint(w[1].substr(0, 2), d) || !parse_uint(w[1].substr(7, 2), y)) return std::nullopt;
    y += y < 70 ? 2000 : 1900;
    mo = month_index(w[1].substr(3, 3));
    secs = parse_clock(w[2]);
  } else if (n == 5) {
    // asctime: "Sun Nov  6 08:49:37 1994"
    mo = month_index(w[1]);
    if (!parse_uint(w[2], d) || !parse_uint(w[4], y)) return std::nullopt;
    secs = parse_clock(w[3]);
  } else {
    return std::nullopt;
  }
  if (mo == 0 || secs < 0 || d < 1 || d > 31 || y < 1970 || y > 9999) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::sys_days{ymd}} + std::chrono::seconds{secs};
}

}  // namespace

std::chrono::milliseconds retry_policy::backoff(int attempt, double jitter01) const {
  const auto cap = std::max(options_.max_delay.count(), std::int64_t{0});
  std::int64_t ceiling = std::max(options_.base_delay.count(), std::int64_t{0});
  for (int i = 1; i < attempt && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  jitter01 = std::clamp(jitter01, 0.0, 1.0);
  return milliseconds{static_cast<std::int64_t>(static_cast<double>(ceiling) * jitter01)};
}

retry_decision retry_policy::on_response(int attempt, unsigned status, std::string_view retry_after,
                                         std::string_view body, std::chrono::system_clock::time_point now,
                                         double jitter01) const {
  if ((status >= 100 && status < 400) || status == 404 || status == 410) return {retry_action::done, {}, {}};
  if (status == 409 || status == 412) return {retry_action::conflict, {}, status_text(status)};

  std::string cause = status_text(status);
  if (std::string oo = operation_outcome_text(body); !oo.empty()) cause += ": " + oo;

  if (status == 429 || status == 503) {
    if (attempt >= options_.max_attempts) return {retry_action::fail, {}, exhausted(attempt, std::move(cause))};
    const auto hint = parse_retry_after(retry_after, now);
    if (hint.count() >= 0) {
      const auto delay = std::min<milliseconds>(hint, options_.max_retry_after);
      return {retry_action::retry, delay, std::move(cause)};
    }
    return {retry_action::retry, backoff(attempt, jitter01), std::move(cause)};
  }
  if (retryable_status(status)) {
    if (attempt >= options_.max_attempts) return {retry_action::fail, {}, exhausted(attempt, std::move(cause))};
    return {retry_action::retry, backoff(attempt, jitter01), std::move(cause)};
  }
  return {retry_action::fail, {}, std::move(cause)};
}

retry_decision retry_policy::on_error(int attempt, const boost::system::error_code& ec, std::string_view detail,
                                      double jitter01) const {
  std::string cause(detail.empty() ? std::string_view(ec.message()) : detail);
  if (is_permanent_network_error(ec)) return {retry_action::fail, {}, std::move(cause)};
  if (attempt >= options_.max_attempts) return {retry_action::fail, {}, exhausted(attempt, std::move(cause))};
  return {retry_action::retry, backoff(attempt, jitter01), std::move(cause)};
}

std::chrono::seconds parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::chrono::seconds{-1};
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    std::int64_t secs = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec == std::errc::result_out_of_range) return std::chrono::seconds{INT32_MAX};
    if (ec != std::errc() || p != value.data() + value.size()) return std::chrono::seconds{-1};
    return std::chrono::seconds{secs};
  }
  auto when = parse_http_date(value);
  if (!when) return std::chrono::seconds{-1};
  const auto delta = std::chrono::ceil<std::chrono::seconds>(*when - now);
  return delta.count() < 0 ? std::chrono::seconds{0} : delta;
}

bool is_permanent_network_error(const boost::system::error_code& ec) {
  if (ec == boost::asio::error::operation_aborted) return true;
  // TLS protocol failures (certificate verification, wrong version, ...) do not heal by
  // retrying; a truncated stream (stream category) does.
  if (ec.category() == boost::asio::error::get_ssl_category()) return true;
  if (ec == boost::asio::error::invalid_argument || ec == boost::asio::error::address_family_not_supported) return true;
  return false;
}

std::string operation_outcome_text(std::string_view body) {
  if (trim(body).empty()) return {};
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  const auto* obj = ec ? nullptr : v.if_object();
  const auto* rt = obj ? obj->if_contains("resourceType") : nullptr;
  if (rt && rt->is_string() && rt->get_string() == "OperationOutcome") {
    std::string out;
    const auto* issues = obj->if_contains("issue");
    if (issues && issues->is_array()) {
      for (const auto& issue : issues->get_array()) {
        const auto* io = issue.if_object();
        if (!io) continue;
        std::string_view text;
        if (const auto* d = io->if_contains("diagnostics"); d && d->is_string()) text = d->get_string();
        if (text.empty())
          if (const auto* det = io->if_contains("details"); det && det->is_object())
            if (const auto* t = det->get_object().if_contains("text"); t && t->is_string()) text = t->get_string();
        if (text.empty()) continue;
        if (!out.empty()) out += "; ";
        out += text;
      }
    }
    if (!out.empty()) return out;
  }
  constexpr std::size_t max_len = 300;
  std::string raw(trim(body).substr(0, max_len));
  if (trim(body).size() > max_len) raw += "...";
  return raw;
}

std::string status_text(unsigned status) {
  const auto reason = boost::beast::http::obsolete_reason(boost::beast::http::int_to_status(status));
  std::string out = std::to_string(status);
  if (!reason.empty() && reason != "<unknown-status>") {
    out += ' ';
    out.append(reason.data(), reason.size());
  }
  return out;
}

}  // namespace iomt::fhir
