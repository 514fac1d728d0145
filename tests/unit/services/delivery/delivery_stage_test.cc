#include "services/delivery/delivery_stage.h"

#include "common/crypto/key_ring.h"
#include "tests/support/fake_clock.h"
#include "tests/support/seeded_rng.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace otp::delivery {
namespace {

using namespace std::chrono_literals;

constexpr char kKeys[] = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kVid[] = "otp_0123456789abcdef0123456789abcdef";

/// Records what it was asked to send and answers with a scripted outcome.
class RecordingProvider final : public Provider {
 public:
  std::string_view name() const override { return "recording"; }
  Result<ProviderReceipt> send(const OutboundMessage& message) override {
    sent.push_back(message);
    if (next_error) return tl::unexpected(*next_error);
    return ProviderReceipt{.provider = "recording", .message_id = "m-1", .latency = 12ms};
  }
  std::vector<OutboundMessage> sent;
  std::optional<Error> next_error;
};

class DeliveryStageTest : public ::testing::Test {
 protected:
  DeliveryStageTest()
      : keys_(*crypto::KeyRing::parse(kKeys)),
        sealer_(keys_, rng_),
        stage_(messages::Channel::kSms, provider_, sealer_, clock_,
               messages::Topics::with_prefix("t."), "Acme") {}

  messages::DeliveryJob job(std::string code = "428913") {
    return messages::DeliveryJob{.job_id = std::string(kVid) + ":1",
                                 .tenant = "acme",
                                 .verification_id = kVid,
                                 .channel = messages::Channel::kSms,
                                 .recipient = "+14155552671",
                                 .sealed_code = sealer_.seal(code, kVid),
                                 .code_length = static_cast<int>(code.size()),
                                 .locale = "",
                                 .expires_at = clock_.now() + 10min,
                                 .deadline = clock_.now() + 9min + 50s,
                                 .attempt = 0};
  }

  static messages::Event only_event(const std::vector<kafka::OutboundRecord>& outputs) {
    EXPECT_EQ(outputs.size(), 1U);
    EXPECT_EQ(outputs.at(0).topic, "t.events");
    EXPECT_EQ(outputs.at(0).key, kVid);
    auto event = messages::decode_event(outputs.at(0).value);
    EXPECT_TRUE(event.has_value());
    return *event;
  }

  test::SeededRng rng_;
  crypto::KeyRing keys_;
  crypto::Sealer sealer_;
  testing::FakeClock clock_;
  RecordingProvider provider_;
  DeliveryStage stage_;
};

TEST_F(DeliveryStageTest, SendsTheUnsealedCodeAndReportsSentWithoutTheCode) {
  auto outputs = stage_.handle(job("428913"));
  ASSERT_TRUE(outputs.has_value()) << outputs.error().message;
  ASSERT_EQ(provider_.sent.size(), 1U);
  EXPECT_EQ(provider_.sent[0].to, "+14155552671");
  EXPECT_NE(provider_.sent[0].body.find("428913"), std::string::npos);
  EXPECT_NE(provider_.sent[0].body.find("Acme"), std::string::npos);
  auto event = only_event(*outputs);
  EXPECT_EQ(event.type, "delivery.sent");
  EXPECT_EQ(event.data.at("provider"), "recording");
  EXPECT_EQ(event.data.at("provider_message_id"), "m-1");
  EXPECT_EQ(event.data.at("latency_ms"), 12);
  EXPECT_EQ(outputs->at(0).value.find("428913"), std::string::npos);
  EXPECT_EQ(outputs->at(0).value.find("+14155552671"), std::string::npos);
}

TEST_F(DeliveryStageTest, DropsAJobPastItsDeadlineWithoutCallingTheProvider) {
  auto expired = job();
  clock_.advance(9min + 50s);
  auto outputs = stage_.handle(expired);
  ASSERT_TRUE(outputs.has_value());
  EXPECT_TRUE(provider_.sent.empty());
  EXPECT_EQ(only_event(*outputs).type, "delivery.expired");
}

TEST_F(DeliveryStageTest, TransientProviderFailureIsRetryableAndEmitsNothing) {
  provider_.next_error = Error{Errc::kUnavailable, "twilio HTTP 503"};
  auto outputs = stage_.handle(job());
  ASSERT_FALSE(outputs.has_value());
  EXPECT_TRUE(outputs.error().is_retryable());
}

TEST_F(DeliveryStageTest, PermanentRefusalEndsTheJobWithDeliveryFailed) {
  provider_.next_error = Error{Errc::kPermanent, "twilio HTTP 400 code 21211"};
  auto outputs = stage_.handle(job());
  ASSERT_TRUE(outputs.has_value());
  auto event = only_event(*outputs);
  EXPECT_EQ(event.type, "delivery.failed");
  EXPECT_EQ(event.data.at("error_code"), "permanent");
  EXPECT_EQ(event.data.at("reason"), "twilio HTTP 400 code 21211");
}

TEST_F(DeliveryStageTest, TamperedSealIsPoisonNotRetried) {
  auto tampered = job();
  tampered.sealed_code.data[5] = tampered.sealed_code.data[5] == 'A' ? 'B' : 'A';
  auto outputs = stage_.handle(tampered);
  ASSERT_FALSE(outputs.has_value());
  EXPECT_FALSE(outputs.error().is_retryable());
  EXPECT_TRUE(provider_.sent.empty());
}

TEST_F(DeliveryStageTest, ReplayedJobYieldsTheSameEventId) {
  auto same = job();
  auto first = stage_.handle(same);
  clock_.advance(1s);
  auto second = stage_.handle(same);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(only_event(*first).id, only_event(*second).id);
}

TEST_F(DeliveryStageTest, DecodeRefusesJobsOfAnotherChannelAndBadPayloads) {
  auto email = job();
  email.channel = messages::Channel::kEmail;
  kafka::Record record;
  record.topic = "t.delivery.sms";
  record.value = messages::encode(email);
  auto decoded = stage_.decode(record);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, Errc::kInvalidInput);

  for (std::string bad :
       {"", "not json", "[]", R"({"schema_version":2})", R"({"schema_version":1,"job_id":5})"}) {
    record.value = bad;
    auto result = stage_.decode(record);
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_EQ(result.error().code, Errc::kInvalidInput) << bad;
  }
}

}  // namespace
}  // namespace otp::delivery
