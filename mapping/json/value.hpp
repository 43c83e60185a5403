// The JSON token model shared by the whole mapping engine.
//
// It mirrors Newtonsoft.Json's JToken types (iomt-spec §2): integers and floats are distinct,
// integers beyond Int64 keep their text (BigInteger), and ISO-looking strings read from a message
// Body become Date tokens. Values are immutable, 16 bytes, trivially copyable and do not own
// memory: strings, arrays and objects live in an `arena` that outlives every value pointing into it
// (one arena per message on the hot path, one per compiled template for literals).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <span>
#include <string>
#include <string_view>

namespace iomt::json {

// Newtonsoft JTokenType equivalents (only the ones a JSON text can produce).
enum class kind : std::uint8_t { null, boolean, integer, big_integer, floating, string, date, array, object };

// DateTimeKind of a .NET DateTime: Z -> utc, an explicit offset -> local (converted to the UTC
// instant; containers run in UTC), no zone -> unspecified.
enum class date_kind : std::uint8_t { unspecified, utc, local };

// .NET DateTime: 100 ns ticks since 0001-01-01T00:00:00 (iomt-spec §8.3).
struct date_time {
  std::int64_t ticks = 0;
  date_kind zone = date_kind::unspecified;
  friend bool operator==(const date_time&, const date_time&) = default;
};

inline constexpr std::int64_t ticks_per_second = 10'000'000;
inline constexpr std::int64_t ticks_per_millisecond = 10'000;
inline constexpr std::int64_t unix_epoch_ticks = 621'355'968'000'000'000;  // 1970-01-01

struct member;

class value {
public:
  constexpr value() noexcept : u_{.i = 0} {}

  static constexpr value null() noexcept { return value{}; }
  static constexpr value boolean(bool b) noexcept {
    value v;
    v.k_ = kind::boolean;
    v.u_.b = b;
    return v;
  }
  static constexpr value integer(std::int64_t i) noexcept {
    value v;
    v.k_ = kind::integer;
    v.u_.i = i;
    return v;
  }
  static constexpr value floating(double d) noexcept {
    value v;
    v.k_ = kind::floating;
    v.u_.d = d;
    return v;
  }
  static constexpr value date(date_time t) noexcept {
    value v;
    v.k_ = kind::date;
    v.aux_ = static_cast<std::uint8_t>(t.zone);
    v.u_.i = t.ticks;
    return v;
  }
  // Non-owning: `s` must stay alive as long as the value (use arena::string to copy).
  static value string_ref(std::string_view s) noexcept { return text(kind::string, s); }
  static value big_integer_ref(std::string_view digits) noexcept { return text(kind::big_integer, digits); }
  static value array_ref(std::span<const value> items) noexcept {
    value v;
    v.k_ = kind::array;
    v.n_ = static_cast<std::uint32_t>(items.size());
    v.u_.a = items.data();
    return v;
  }
  static value object_ref(std::span<const member> members) noexcept;

  kind type() const noexcept { return k_; }
  bool is_null() const noexcept { return k_ == kind::null; }
  bool is_bool() const noexcept { return k_ == kind::boolean; }
  bool is_integer() const noexcept { return k_ == kind::integer; }
  bool is_floating() const noexcept { return k_ == kind::floating; }
  bool is_number() const noexcept { return k_ == kind::integer || k_ == kind::floating; }
  bool is_string() const noexcept { return k_ == kind::string; }
  bool is_date() const noexcept { return k_ == kind::date; }
  bool is_array() const noexcept { return k_ == kind::array; }
  bool is_object() const noexcept { return k_ == kind::object; }
  bool is_container() const noexcept { return k_ == kind::array || k_ == kind::object; }

  bool as_bool() const noexcept { return u_.b; }
  std::int64_t as_integer() const noexcept { return u_.i; }
  double as_floating() const noexcept { return u_.d; }
  // Integer or float as double.
  double as_double() const noexcept { return k_ == kind::integer ? static_cast<double>(u_.i) : u_.d; }
  date_time as_date() const noexcept { return {u_.i, static_cast<date_kind>(aux_)}; }
  // String text, or the digits of a big integer.
  std::string_view as_string() const noexcept { return {u_.s, n_}; }
  std::span<const value> as_array() const noexcept { return {u_.a, n_}; }
  std::span<const member> as_object() const noexcept;

  // Object member lookup (ordinal, case-sensitive); nullptr when absent or not an object.
  const value* find(std::string_view key) const noexcept;
  // Array/object element count, string length in bytes; 0 otherwise.
  std::size_t size() const noexcept { return n_; }

  // Deep structural equality (JSON semantics: integer 1 == float 1.0; object member order ignored;
  // a date equals only a date). Used by JMESPath `==` and merge no-op detection.
  friend bool deep_equal(const value& a, const value& b) noexcept;

private:
  static value text(kind k, std::string_view s) noexcept {
    value v;
    v.k_ = k;
    v.n_ = static_cast<std::uint32_t>(s.size());
    v.u_.s = s.data();
    return v;
  }

  kind k_ = kind::null;
  std::uint8_t aux_ = 0;
  std::uint32_t n_ = 0;
  union u {
    bool b;
    std::int64_t i;
    double d;
    const char* s;
    const value* a;
    const member* o;
  } u_;
};
static_assert(sizeof(value) == 16);

struct member {
  std::string_view key;
  value val;
};

inline value value::object_ref(std::span<const member> members) noexcept {
  value v;
  v.k_ = kind::object;
  v.n_ = static_cast<std::uint32_t>(members.size());
  v.u_.o = members.data();
  return v;
}
inline std::span<const member> value::as_object() const noexcept { return {u_.o, n_}; }
inline const value* value::find(std::string_view key) const noexcept {
  if (k_ != kind::object) return nullptr;
  for (const member& m : as_object())
    if (m.key == key) return &m.val;
  return nullptr;
}

// Owns the memory of values built into it. Not thread-safe; one per message / template.
class arena {
public:
  arena() : res_(initial_, sizeof(initial_)) {}
  explicit arena(std::size_t first_block) : res_(first_block) {}
  arena(const arena&) = delete;
  arena& operator=(const arena&) = delete;

  std::pmr::memory_resource* resource() noexcept { return &res_; }
  void* allocate(std::size_t bytes, std::size_t align) { return res_.allocate(bytes, align); }
  // Frees everything at once; values pointing into the arena become dangling.
  void reset() noexcept { res_.release(); }

  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = static_cast<char*>(allocate(s.size(), 1));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }
  value string(std::string_view s) { return value::string_ref(copy(s)); }
  value big_integer(std::string_view digits) { return value::big_integer_ref(copy(digits)); }
  value array(std::span<const value> items) {
    if (items.empty()) return value::array_ref({});
    auto* p = static_cast<value*>(allocate(items.size() * sizeof(value), alignof(value)));
    std::memcpy(static_cast<void*>(p), items.data(), items.size() * sizeof(value));
    return value::array_ref({p, items.size()});
  }
  // Members are copied as given (keys are NOT copied: they must already live in this arena or
  // outlive it; use copy() for keys that come from elsewhere).
  value object(std::span<const member> members) {
    if (members.empty()) return value::object_ref({});
    auto* p = static_cast<member*>(allocate(members.size() * sizeof(member), alignof(member)));
    std::memcpy(static_cast<void*>(p), members.data(), members.size() * sizeof(member));
    return value::object_ref({p, members.size()});
  }
  // Deep copy of `v` (strings, keys, containers) into this arena.
  value clone(const value& v);

private:
  alignas(std::max_align_t) std::byte initial_[1024];
  std::pmr::monotonic_buffer_resource res_;
};

// A parsed JSON text: its arena and its root.
struct document {
  std::unique_ptr<json::arena> arena = std::make_unique<json::arena>();
  value root;
};

}  // namespace iomt::json
