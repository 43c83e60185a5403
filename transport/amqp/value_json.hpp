// AMQP 1.0 typed values (Qpid Proton's pn_data_t) as the JSON that MedTech templates see
// (iomt-spec §2): the Event Hubs SDK turns application properties and annotations into .NET
// values and JToken.FromObject serializes them. Sans-io; never throws; nesting deeper than
// `max_depth` is written as null (a hostile message cannot overflow the stack here).
//
//   null -> null; boolean -> true/false; integers (byte..ulong) -> number;
//   float/double -> shortest round-trip number ("NaN", "Infinity", "-Infinity" as strings);
//   string, symbol -> string; char -> one-character string;
//   timestamp -> "yyyy-MM-ddTHH:mm:ss[.FFF]Z" (the form x-opt-enqueued-time takes in
//                transport/http/event_properties.hpp: no date sniffing on properties, §2);
//   uuid -> "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (Guid.ToString(), lower case);
//   binary -> base64 (how Newtonsoft writes byte[]);
//   decimal32/64/128 -> null (no .NET mapping worth keeping); described -> its value;
//   list, array -> array; map -> object (non-string keys as their JSON text, unquoted numbers
//   quoted).
#pragma once

#include <proton/codec.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace iomt::transport::amqp {

inline constexpr int max_value_depth = 256;

// Appends the value at the current position of `data` (after pn_data_next) as JSON.
void append_value_json(pn_data_t* data, std::string& out, int depth = 0);

// Appends the map at the current position as the members of a JSON object, without the braces:
// `"k":v,"k2":v2`. Each member is preceded by a comma when `out` already ends with a member
// (i.e. its last character is not '{'). Returns the number of members written.
std::size_t append_map_members(pn_data_t* data, std::string& out, int depth = 0);

// The text of a map key (string/symbol as is, numbers as digits, other types as their JSON).
std::string key_text(pn_data_t* data);

// AMQP timestamp (ms since the Unix epoch) -> "yyyy-MM-ddTHH:mm:ss[.FFF]Z".
std::string format_timestamp(std::int64_t unix_ms);

// JSON string literal of `s` (invalid UTF-8 bytes are taken as ISO-8859-1).
void append_json_string(std::string_view s, std::string& out);

}  // namespace iomt::transport::amqp
