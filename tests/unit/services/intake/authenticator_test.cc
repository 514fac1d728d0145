#include "services/intake/authenticator.h"

#include <gtest/gtest.h>

namespace otp::intake {
namespace {

TEST(ReadCredentials, ReadsBothHeadersCaseInsensitively) {
  HttpRequest request;
  request.headers = {{"x-api-key", "k"}, {"X-API-SECRET", "s"}};
  auto credentials = read_credentials(request);
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->api_key, "k");
  EXPECT_EQ(credentials->api_secret, "s");
}

TEST(ReadCredentials, MissingOrEmptyIsNothing) {
  HttpRequest request;
  EXPECT_FALSE(read_credentials(request));
  request.headers = {{"X-API-Key", "k"}};
  EXPECT_FALSE(read_credentials(request));
  request.headers = {{"X-API-Secret", "s"}};
  EXPECT_FALSE(read_credentials(request));
  request.headers = {{"X-API-Key", ""}, {"X-API-Secret", "s"}};
  EXPECT_FALSE(read_credentials(request));
}

TEST(DevKeyAuthenticator, AcceptsOnlyTheConfiguredKeyAndSecret) {
  const DevKeyAuthenticator authenticator("acme", "key-1", config::Secret("s3cret"));
  auto tenant = authenticator.authenticate({.api_key = "key-1", .api_secret = "s3cret"});
  ASSERT_TRUE(tenant.has_value());
  EXPECT_EQ(tenant->id, "acme");

  for (const Credentials& wrong : {Credentials{"key-2", "s3cret"}, Credentials{"key-1", "s3creT"},
                                   Credentials{"key-1", "s3cret "}, Credentials{"key-1", "s3c"},
                                   Credentials{"key-1", ""}, Credentials{"", "s3cret"}}) {
    auto refused = authenticator.authenticate(wrong);
    ASSERT_FALSE(refused.has_value()) << wrong.api_key << "/" << wrong.api_secret;
    EXPECT_EQ(refused.error().code, Errc::kInvalidInput);
    EXPECT_EQ(refused.error().message.find("s3c"), std::string::npos) << "no secret in errors";
  }
}

}  // namespace
}  // namespace otp::intake
