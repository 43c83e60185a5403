#include "mapping/json/value.hpp"

#include <vector>

namespace iomt::json {

namespace {
bool numbers_equal(const value& a, const value& b) noexcept {
  if (a.is_integer() && b.is_integer()) return a.as_integer() == b.as_integer();
  return a.as_double() == b.as_double();
}
}  // namespace

bool deep_equal(const value& a, const value& b) noexcept {
  if (a.is_number() && b.is_number()) return numbers_equal(a, b);
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case kind::null:
      return true;
    case kind::boolean:
      return a.as_bool() == b.as_bool();
    case kind::string:
    case kind::big_integer:
      return a.as_string() == b.as_string();
    case kind::date:
      return a.as_date().ticks == b.as_date().ticks;
    case kind::array: {
      auto x = a.as_array(), y = b.as_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!deep_equal(x[i], y[i])) return false;
      return true;
    }
    case kind::object: {
      if (a.size() != b.size()) return false;
      for (const member& m : a.as_object()) {
        const value* o = b.find(m.key);
        if (!o || !deep_equal(m.val, *o)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

value arena::clone(const value& v) {
  switch (v.type()) {
    case kind::string:
      return string(v.as_string());
    case kind::big_integer:
      return big_integer(v.as_string());
    case kind::array: {
      std::vector<value> items;
      items.reserve(v.size());
      for (const value& e : v.as_array()) items.push_back(clone(e));
      return array(items);
    }
    case kind::object: {
      std::vector<member> members;
      members.reserve(v.size());
      for (const member& m : v.as_object()) members.push_back({copy(m.key), clone(m.val)});
      return object(members);
    }
    default:
      return v;
  }
}

}  // namespace iomt::json
