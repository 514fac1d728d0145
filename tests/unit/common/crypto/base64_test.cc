#include "common/crypto/base64.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace otp::crypto {
namespace {

struct Vector {
  std::string plain;
  std::string standard;
  std::string url;
};

// RFC 4648 section 10, plus bytes that differ between the two alphabets.
const std::vector<Vector> kVectors = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    {"\xfb\xff", "+/8=", "-_8"},
    {std::string("\x00\x00\x00", 3), "AAAA", "AAAA"},
};

TEST(Base64, EncodesRfc4648Vectors) {
  for (const auto& v : kVectors) {
    EXPECT_EQ(base64_encode(v.plain), v.standard) << v.standard;
    EXPECT_EQ(base64url_encode(v.plain), v.url) << v.url;
  }
}

TEST(Base64, DecodesRfc4648Vectors) {
  for (const auto& v : kVectors) {
    auto standard = base64_decode(v.standard);
    ASSERT_TRUE(standard.has_value()) << v.standard;
    EXPECT_EQ(*standard, v.plain);
    auto url = base64url_decode(v.url);
    ASSERT_TRUE(url.has_value()) << v.url;
    EXPECT_EQ(*url, v.plain);
  }
}

TEST(Base64, SpanAndStringViewOverloadsAgree) {
  const std::vector<std::uint8_t> bytes = {'f', 'o', 'o', 0x00, 0xff};
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_EQ(base64_encode(bytes), base64_encode(text));
  EXPECT_EQ(base64url_encode(bytes), base64url_encode(text));
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t length = 0; length <= all.size(); ++length) {
    const auto plain = all.substr(all.size() - length);
    EXPECT_EQ(base64_decode(base64_encode(plain)).value_or("<error>"), plain) << length;
    EXPECT_EQ(base64url_decode(base64url_encode(plain)).value_or("<error>"), plain) << length;
  }
}

TEST(Base64, StrictDecodeRejectsMalformedInput) {
  const std::vector<std::string> bad = {
      "Zg",        // missing padding
      "Zg=",       // length not 4n
      "Z===",      // too much padding
      "====",      // only padding
      "Zm9v!A==",  // character outside the alphabet
      "Zm=v",      // padding in the middle
      "Zg==Zg==",  // padding before the end
      "Zm9v\n",    // whitespace
      " Zm9v",     // whitespace
      "Zh==",      // non-zero bits after the last byte
      "Zm9=",      // non-zero bits after the last byte
      "-_8=",      // URL alphabet
  };
  for (const auto& text : bad) {
    auto decoded = base64_decode(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code, Errc::kInvalidInput);
  }
}

TEST(Base64, StrictUrlDecodeRejectsMalformedInput) {
  const std::vector<std::string> bad = {"Zg==", "Zm8=", "+/8", "Z", "Zm9vY", "Zh", "Zm9", "Zm 9"};
  for (const auto& text : bad) {
    auto decoded = base64url_decode(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code, Errc::kInvalidInput);
  }
}

TEST(Base64, ErrorsDoNotEchoTheInput) {
  auto decoded = base64_decode("c2VjcmV0!");
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().message.find("c2VjcmV0"), std::string::npos);
}

}  // namespace
}  // namespace otp::crypto
