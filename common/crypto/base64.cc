#include "common/crypto/base64.h"

#include <array>

namespace otp::crypto {
namespace {

constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kNotInAlphabet = 0xff;

using DecodeTable = std::array<std::uint8_t, 256>;

constexpr DecodeTable make_decode_table(std::string_view alphabet) {
  DecodeTable table{};
  table.fill(kNotInAlphabet);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr DecodeTable kStandardTable = make_decode_table(kStandardAlphabet);
constexpr DecodeTable kUrlTable = make_decode_table(kUrlAlphabet);

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string encode(std::span<const std::uint8_t> bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = (std::uint32_t{bytes[i]} << 16) |
                                (std::uint32_t{bytes[i + 1]} << 8) | std::uint32_t{bytes[i + 2]};
    out.push_back(alphabet[(group >> 18) & 0x3f]);
    out.push_back(alphabet[(group >> 12) & 0x3f]);
    out.push_back(alphabet[(group >> 6) & 0x3f]);
    out.push_back(alphabet[group & 0x3f]);
  }
  const std::size_t left = bytes.size() - i;
  if (left == 0) return out;
  std::uint32_t group = std::uint32_t{bytes[i]} << 16;
  if (left == 2) group |= std::uint32_t{bytes[i + 1]} << 8;
  out.push_back(alphabet[(group >> 18) & 0x3f]);
  out.push_back(alphabet[(group >> 12) & 0x3f]);
  if (left == 2) out.push_back(alphabet[(group >> 6) & 0x3f]);
  if (pad) out.append(left == 1 ? "==" : "=");
  return out;
}

Result<std::string> decode(std::string_view text, const DecodeTable& table, bool padded) {
  std::size_t data_length = text.size();
  if (padded) {
    if (text.size() % 4 != 0) return fail(Errc::kInvalidInput, "base64 length is not 4n");
    for (int i = 0; i < 2 && data_length > 0 && text[data_length - 1] == '='; ++i) --data_length;
  }
  // A final group of one character cannot hold a whole byte.
  if (data_length % 4 == 1) return fail(Errc::kInvalidInput, "base64 has a truncated group");

  std::string out;
  out.reserve(data_length / 4 * 3 + 2);
  std::uint32_t pending = 0;
  int pending_bits = 0;
  for (std::size_t i = 0; i < data_length; ++i) {
    const std::uint8_t value = table[static_cast<unsigned char>(text[i])];
    if (value == kNotInAlphabet) {
      return fail(Errc::kInvalidInput, "base64 has an invalid character or misplaced padding");
    }
    pending = (pending << 6) | value;
    pending_bits += 6;
    if (pending_bits >= 8) {
      pending_bits -= 8;
      out.push_back(static_cast<char>((pending >> pending_bits) & 0xff));
      pending &= (1U << pending_bits) - 1;
    }
  }
  // Strictness: leftover bits must be zero, or two spellings would decode to the same bytes.
  if (pending != 0) return fail(Errc::kInvalidInput, "base64 is not canonical");
  return out;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  return encode(bytes, kStandardAlphabet, true);
}

std::string base64_encode(std::string_view bytes) { return base64_encode(as_bytes(bytes)); }

Result<std::string> base64_decode(std::string_view text) {
  return decode(text, kStandardTable, true);
}

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  return encode(bytes, kUrlAlphabet, false);
}

std::string base64url_encode(std::string_view bytes) { return base64url_encode(as_bytes(bytes)); }

Result<std::string> base64url_decode(std::string_view text) {
  return decode(text, kUrlTable, false);
}

}  // namespace otp::crypto
