// GPT-2's reversible byte <-> printable-character mapping used by ByteLevel pre-tokenizers and
// decoders: bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF map to themselves; the other 68 bytes map to
// U+0100, U+0101, ... in byte order.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fathom::tokenizer {

/// The character byte `b` is shown as.
char32_t byte_to_char(uint8_t b);

/// The byte shown as `cp`, or nullopt if `cp` is not in the mapping.
std::optional<uint8_t> char_to_byte(char32_t cp);

/// Maps every character of `token` back to its byte; nullopt if any character is unmapped.
std::optional<std::string> byte_level_to_bytes(std::string_view token);

/// The printable form of raw bytes (inverse of byte_level_to_bytes).
std::string bytes_to_byte_level(std::string_view bytes);

}  // namespace fathom::tokenizer
