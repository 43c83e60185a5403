// The root CollectionContent and its {templateType, template} containers (upstream
// CollectionTemplateFactory / CollectionContentTemplateFactory; iomt-spec §3.1).
#include "mapping/device/template_loader.hpp"

#include "mapping/device/dotnet_text.hpp"
#include "mapping/json/dotnet.hpp"

namespace iomt::mapping::device::detail {

namespace {

constexpr std::string_view collection_type = "CollectionContentTemplate";

// Object member by name, exact match first, then ignoring case (Newtonsoft property matching).
const json::member* find_member(const json::value& object, std::string_view name) {
  const json::member* loose = nullptr;
  for (const json::member& m : object.as_object()) {
    if (m.key == name) return &m;
    if (!loose && iequals(m.key, name)) loose = &m;
  }
  return loose;
}

// A "templateType" value as the string property upstream reads (null / missing -> nullopt).
std::optional<std::string> type_text(const json::member* m) {
  if (!m || m->val.is_null() || m->val.is_container()) return std::nullopt;
  if (m->val.is_string() || m->val.type() == json::kind::big_integer) return std::string(m->val.as_string());
  std::string s;
  json::to_dotnet_string(m->val, s);
  return s;
}

bool has_errors_since(const template_errors& errors, std::size_t from) {
  for (std::size_t i = from; i < errors.size(); ++i)
    if (!errors[i].warning) return true;
  return false;
}

}  // namespace

loaded_collection load_collection(std::string_view json_text) {
  loaded_collection out;
  auto parsed = json::parse_located(json_text);
  if (!parsed) {
    out.errors.push_back({"JsonReaderException", parsed.error().message, -1, "", parsed.error().pos, false});
    return out;
  }
  const json::located_document& doc = *parsed;
  const json::value& root = doc.doc.root;
  const load_context root_ctx{doc, out.errors, -1};

  if (!root.is_object()) {
    root_ctx.add(doc.root_pos, "",
                 std::string("Error reading JObject from JsonReader. Current JsonReader item is not an object: ") +
                     (root.is_array() ? "StartArray" : "a value") + ".",
                 "JsonReaderException");
    return out;
  }

  const json::member* type = find_member(root, "templateType");
  const auto type_name = type_text(type);
  if (!type_name || !match_template_name(*type_name, collection_type)) {
    root_ctx.add(
        type ? doc.pos_of(&type->val) : doc.root_pos, "templateType",
        "Expected TemplateType value CollectionContentTemplate, actual " + type_name.value_or("Not Found") + ".");
    return out;
  }
  const json::member* templates = find_member(root, "template");
  if (!templates || !templates->val.is_array()) {
    root_ctx.add(templates ? doc.pos_of(&templates->val) : doc.root_pos, "template",
                 "Expected an array for the template property value for template type CollectionContentTemplate.");
    return out;
  }

  const auto items = templates->val.as_array();
  out.templates.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json::value& item = items[i];
    const load_context ctx{doc, out.errors, static_cast<int>(i)};
    const std::size_t first_error = out.errors.size();
    if (!item.is_object()) {
      ctx.add(doc.pos_of(&item), "", "Expected a template container {\"templateType\": ..., \"template\": {...}}.",
              "JsonSerializationException");
      continue;
    }
    const json::member* item_type = find_member(item, "templateType");
    const std::string item_type_name = type_text(item_type).value_or(std::string());
    const auto kind = match_template_kind(item_type_name);
    if (!kind) {
      ctx.add(item_type ? doc.pos_of(&item_type->val) : doc.pos_of(&item), "templateType",
              "No match found for template type " + item_type_name + ".");
      continue;
    }
    const json::member* body = find_member(item, "template");
    if (!body || !body->val.is_object()) {
      ctx.add(body ? doc.pos_of(&body->val) : doc.pos_of(&item), "template",
              std::string("Expected an object for the template property value for template type ") +
                  factory_type_name(*kind) + ".");
      continue;
    }
    content_template t = compile_template(read_template(*kind, body->val, doc.pos_of(&body->val), ctx), ctx);
    if (!has_errors_since(out.errors, first_error)) out.templates.push_back(std::move(t));
  }
  return out;
}

}  // namespace iomt::mapping::device::detail
