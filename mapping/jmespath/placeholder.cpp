// Placeholder until the area's first source lands; remove when adding real sources.
namespace iomt::mapping::detail { inline constexpr int jmespath_placeholder = 0; }
