// Placeholder until the area's first source lands; remove when adding real sources.
namespace iomt::mapping::detail { inline constexpr int jsonpath_placeholder = 0; }
