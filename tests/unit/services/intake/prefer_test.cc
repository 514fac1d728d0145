#include "services/intake/prefer.h"

#include <gtest/gtest.h>

namespace otp::intake {
namespace {

HttpRequest with_headers(std::vector<HttpHeader> headers) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/otp/send";
  request.headers = std::move(headers);
  return request;
}

TEST(PreferRespondAsync, FoundInAnyPreferHeaderAndPosition) {
  for (const char* value : {"respond-async", "RESPOND-ASYNC", "  respond-async  ",
                            "wait=10, respond-async", "respond-async; foo=bar", "respond-async=1",
                            "return=minimal,respond-async,wait=5", "foo=\"a,b\", respond-async"}) {
    EXPECT_TRUE(prefers_respond_async(with_headers({{"Prefer", value}}))) << value;
  }
  EXPECT_TRUE(prefers_respond_async(
      with_headers({{"prefer", "return=minimal"}, {"PREFER", "respond-async"}})));
}

TEST(PreferRespondAsync, AbsentOrOtherwiseNotApplied) {
  EXPECT_FALSE(prefers_respond_async(with_headers({})));
  EXPECT_FALSE(prefers_respond_async(with_headers({{"Preference-Applied", "respond-async"}})));
  EXPECT_FALSE(prefers_respond_async(with_headers({{"X-Prefer", "respond-async"}})));
  for (const char* value : {"", ",", "wait=10", "respond-asynchronously", "respond", "async",
                            "foo=\"respond-async\"", "foo=\"x, respond-async\"",
                            "return=minimal; respond-async", "\"unterminated, respond-async"}) {
    EXPECT_FALSE(prefers_respond_async(with_headers({{"Prefer", value}}))) << value;
  }
}

}  // namespace
}  // namespace otp::intake
