#include "common/crypto/key_ring.h"

#include "common/crypto/base64.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace otp::crypto {
namespace {

std::vector<std::uint8_t> key_bytes(std::uint8_t fill, std::size_t size = 32) {
  return std::vector<std::uint8_t>(size, fill);
}

std::string encoded(std::uint8_t fill, std::size_t size = 32) {
  return base64_encode(key_bytes(fill, size));
}

std::string entry(const std::string& id, std::uint8_t fill, std::size_t size = 32) {
  return id + ":" + encoded(fill, size);
}

// Parses `spec`, expects kInvalidInput mentioning `expected`, and no base64 key text in the
// message.
void expect_rejected(const std::string& spec, const std::string& expected) {
  auto ring = KeyRing::parse(spec);
  ASSERT_FALSE(ring.has_value()) << spec;
  EXPECT_EQ(ring.error().code, Errc::kInvalidInput);
  EXPECT_NE(ring.error().message.find(expected), std::string::npos) << ring.error().message;
  for (std::uint8_t fill : {0x11, 0x22, 0x33}) {
    for (std::size_t size : {16U, 31U, 32U, 33U}) {
      const auto material = encoded(fill, size).substr(0, 12);
      EXPECT_EQ(ring.error().message.find(material), std::string::npos) << ring.error().message;
    }
  }
}

TEST(KeyRing, ParsesOneKey) {
  auto ring = KeyRing::parse(entry("k1", 0x11));
  ASSERT_TRUE(ring.has_value()) << ring.error().message;
  EXPECT_EQ(ring->size(), 1U);
  EXPECT_EQ(ring->active().id, "k1");
  EXPECT_EQ(ring->active().bytes, key_bytes(0x11));
}

TEST(KeyRing, FirstKeyIsActiveAndAllCanBeFound) {
  auto ring = KeyRing::parse(entry("k3", 0x33) + "," + entry("k2", 0x22) + "," + entry("k1", 0x11));
  ASSERT_TRUE(ring.has_value()) << ring.error().message;
  EXPECT_EQ(ring->size(), 3U);
  EXPECT_EQ(ring->active().id, "k3");
  for (auto [id, fill] : {std::pair{"k1", 0x11}, std::pair{"k2", 0x22}, std::pair{"k3", 0x33}}) {
    const Key* key = ring->find(id);
    ASSERT_NE(key, nullptr) << id;
    EXPECT_EQ(key->id, id);
    EXPECT_EQ(key->bytes, key_bytes(static_cast<std::uint8_t>(fill)));
  }
  EXPECT_EQ(ring->find("k4"), nullptr);
  EXPECT_EQ(ring->find(""), nullptr);
}

TEST(KeyRing, IgnoresSpacesAroundEntries) {
  auto ring = KeyRing::parse(" " + entry("a", 0x11) + " ,\t" + entry("b", 0x22) + " ");
  ASSERT_TRUE(ring.has_value()) << ring.error().message;
  EXPECT_EQ(ring->size(), 2U);
  EXPECT_EQ(ring->active().id, "a");
}

TEST(KeyRing, AcceptsEveryIdCharacterUpTo32) {
  const std::string id = "Az09_-" + std::string(26, 'x');
  ASSERT_EQ(id.size(), 32U);
  auto ring = KeyRing::parse(entry(id, 0x11));
  ASSERT_TRUE(ring.has_value()) << ring.error().message;
  EXPECT_EQ(ring->active().id, id);
}

TEST(KeyRing, RejectsEmptySpec) {
  expect_rejected("", "empty");
  expect_rejected("   ", "empty");
}

TEST(KeyRing, RejectsEmptyEntry) {
  expect_rejected(entry("k1", 0x11) + ",", "entry 2: is empty");
  expect_rejected("," + entry("k1", 0x11), "entry 1: is empty");
}

TEST(KeyRing, RejectsEntryWithoutId) {
  expect_rejected(encoded(0x11), "entry 1: is not id:base64");
  expect_rejected(":" + encoded(0x11), "key id must match");
}

TEST(KeyRing, RejectsBadIds) {
  expect_rejected(entry("k 1", 0x11), "entry 1: key id must match");
  expect_rejected(entry("k.1", 0x11), "key id must match");
  expect_rejected(entry("k|1", 0x11), "key id must match");
  expect_rejected(entry(std::string(33, 'k'), 0x11), "key id must match");
  expect_rejected(entry("k1", 0x11) + "," + entry("k/2", 0x22), "entry 2: key id must match");
}

TEST(KeyRing, RejectsWrongKeyLength) {
  expect_rejected(entry("k1", 0x11, 16), "key 'k1' must be 32 bytes, got 16");
  expect_rejected(entry("k1", 0x11, 31), "must be 32 bytes, got 31");
  expect_rejected(entry("k1", 0x11, 33), "must be 32 bytes, got 33");
  expect_rejected("k1:", "must be 32 bytes, got 0");
}

TEST(KeyRing, RejectsBadBase64) {
  expect_rejected("k1:" + encoded(0x11).substr(1), "key 'k1' is not valid base64");
  expect_rejected("k1:" + base64url_encode(std::string(32, '\xff')), "not valid base64");
}

TEST(KeyRing, RejectsDuplicateIds) {
  expect_rejected(entry("k1", 0x11) + "," + entry("k2", 0x22) + "," + entry("k1", 0x33),
                  "entry 3: duplicate key id 'k1'");
}

TEST(KeyRing, ValidKeyIdShape) {
  EXPECT_TRUE(is_valid_key_id("k1"));
  EXPECT_TRUE(is_valid_key_id(std::string(32, 'a')));
  EXPECT_FALSE(is_valid_key_id(""));
  EXPECT_FALSE(is_valid_key_id(std::string(33, 'a')));
  EXPECT_FALSE(is_valid_key_id("k:1"));
}

}  // namespace
}  // namespace otp::crypto
