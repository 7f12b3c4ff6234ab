// Image and audio content parts through POST /v1/chat/completions with the fake engine: decoded
// in the handler (the engine gets preprocessed media in order, their soft tokens rendered as
// placeholder runs), every refusal a 400 naming the part, URLs fetched only from the allow-list.

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "fake_engine.h"
#include "sample_media.h"
#include "server/base64.h"
#include "server/context.h"
#include "server/http_server.h"

namespace snug::server {
namespace {

using json = nlohmann::json;
using testing::FakeEngine;

std::string Base64(const std::vector<uint8_t>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = bytes[i] << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = bytes[i] << 16 | bytes[i + 1] << 8;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

TEST(Base64Test, DecodesStrictly) {
  size_t at = 0;
  for (const std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    const std::vector<uint8_t> bytes(text.begin(), text.end());
    auto decoded = DecodeBase64(Base64(bytes), &at);
    ASSERT_TRUE(decoded.has_value()) << text;
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(DecodeBase64("Zm9vYg", &at).value(), (std::vector<uint8_t>{'f', 'o', 'o', 'b'}));
  EXPECT_FALSE(DecodeBase64("Zm9v YmFy", &at).has_value());
  EXPECT_EQ(at, 4u);
  EXPECT_FALSE(DecodeBase64("Zm9vY", &at).has_value());    // 6 bits left over
  EXPECT_FALSE(DecodeBase64("Zm9v=", &at).has_value());    // padding that completes nothing
  EXPECT_FALSE(DecodeBase64("Zm9v-_", &at).has_value());   // the URL-safe alphabet
}

class MediaServerTest : public ::testing::Test {
 protected:
  void Start(MediaOptions media = {}, bool images = true, bool audio = true) {
    ServerOptions options;
    options.media = std::move(media);
    if (images) engine_.media.image_patch_px = 48, engine_.media.max_image_tokens = 300;
    if (audio) engine_.media.audio_frame_samples = 640;
    engine_.context = 4096;
    context_ = std::make_unique<ServerContext>(options);
    http_ = std::make_unique<HttpServer>(*context_);
    auto port = http_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = std::thread([this] { http_->Serve(); });
    context_->SetModel({.engine = &engine_, .tokenizer = testing::TestTokenizer(),
                        .chat_format = tokenizer::ChatFormat::kGemma4, .id = "tiny"});
  }
  void TearDown() override {
    if (http_) http_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Result Post(json content) {
    // A one-part list in braces is taken by nlohmann::json for the part itself.
    if (content.is_object()) content = json::array({content});
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(30);
    const json body = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", content}}}}};
    return client.Post("/v1/chat/completions", body.dump(), "application/json");
  }
  // A 400 whose param is `param` and whose message holds `words`.
  void Expect400(const json& content, const std::string& param, const std::string& words) {
    auto result = Post(content);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400) << result->body;
    const json error = json::parse(result->body)["error"];
    EXPECT_EQ(error["param"], param) << result->body;
    EXPECT_NE(error["message"].get<std::string>().find(words), std::string::npos) << result->body;
  }
  static json Image(const std::vector<uint8_t>& bytes, const std::string& detail = "auto",
                    const std::string& type = "image/png") {
    return {{"type", "image_url"},
            {"image_url", {{"url", "data:" + type + ";base64," + Base64(bytes)}, {"detail", detail}}}};
  }
  static json Audio(const std::vector<uint8_t>& bytes, const std::string& format = "wav") {
    return {{"type", "input_audio"}, {"input_audio", {{"data", Base64(bytes)}, {"format", format}}}};
  }
  static json Text(const std::string& text) { return {{"type", "text"}, {"text", text}}; }

  FakeEngine engine_;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
  int port_ = 0;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST_F(MediaServerTest, ImagesAndAudioReachTheEngineInOrder) {
  Start();
  const auto png = media::samples::EncodePng(media::samples::Smooth(640, 480));
  const auto jpeg = media::samples::EncodeJpeg(media::samples::Smooth(100, 100));
  const auto wav = media::samples::EncodeWav(std::vector<double>(16000, 0.1), 1, 16000, 1, 16);
  auto result = Post({Text("Compare"), Image(png, "low"), Image(jpeg), Text("and"), Audio(wav)});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const Request request = engine_.requests().back();
  ASSERT_EQ(request.media.size(), 3u);
  const auto& low = std::get<media::PatchGrid>(request.media[0]);
  const auto& square = std::get<media::PatchGrid>(request.media[1]);
  const auto& clip = std::get<media::AudioFrames>(request.media[2]);
  EXPECT_EQ(low.soft_tokens(), 63);      // 640×480 at 70: 432×336
  EXPECT_EQ(square.soft_tokens(), 256);  // 100×100 at 280: 768×768
  EXPECT_EQ(clip.soft_tokens(), 25);     // 1 s
  EXPECT_NE(low.hash, square.hash);
  const std::string prompt = testing::TestTokenizer().Decode(request.prompt);
  EXPECT_EQ(Count(prompt, "<|image|>"), 63u + 256u);
  EXPECT_EQ(Count(prompt, "<|audio|>"), 25u);
  EXPECT_LT(prompt.find("Compare"), prompt.find("<|image>"));
  EXPECT_LT(prompt.find("and"), prompt.find("<|audio>"));
  // detail high takes the server's high budget (280 here, as auto).
  ASSERT_EQ(Post({Image(png, "high")})->status, 200);
  EXPECT_EQ(std::get<media::PatchGrid>(engine_.requests().back().media[0]).soft_tokens(), 266);
}

TEST_F(MediaServerTest, ModelCardsListTheInputModalities) {
  Start({}, /*images=*/true, /*audio=*/false);
  httplib::Client client("127.0.0.1", port_);
  auto result = client.Get("/v1/models");
  ASSERT_TRUE(result);
  EXPECT_EQ(json::parse(result->body)["data"][0]["input_modalities"],
            json::array({"text", "image"}));
}

TEST_F(MediaServerTest, RefusalsNameThePart) {
  MediaOptions options;
  options.image_limits.max_pixels = 1'000'000;
  options.high_detail_tokens = 1120;
  Start(options);
  const auto png = media::samples::EncodePng(media::samples::Smooth(64, 64));
  const std::string part = "messages[0].content[1]";
  // A header that declares 20000×20000: refused from the header, both sizes named.
  Expect400({Text("x"), Image(media::samples::PngHeaderOnly(20000, 20000))}, part,
            "20000×20000 pixels; the limit is 16384×16384 and 1000000 pixels");
  Expect400({Text("x"), Image({'n', 'o', 'p', 'e'})}, part, "not a JPEG, PNG, WebP or GIF");
  auto truncated = png;
  truncated.resize(truncated.size() / 2);
  Expect400({Text("x"), Image(truncated)}, part, "png:");
  json bad = Image(png);
  bad["image_url"]["url"] = "data:image/png;base64,iVBOR!!";
  Expect400({Text("x"), bad}, part + ".image_url.url", "base64 data is invalid at character 5");
  bad["image_url"]["url"] = "data:text/plain;base64,aGk=";
  Expect400({Text("x"), bad}, part + ".image_url.url", "not an image");
  Expect400({Text("x"), Image(png, "huge")}, part + ".image_url.detail", "'low', 'auto' or 'high'");
  // 1120 soft tokens exceed the engine's largest image (300 here).
  Expect400({Text("x"), Image(png, "high")}, part, "1089 soft tokens; this server takes at most 300");
  Expect400({Text("x"), Audio({'R', 'I', 'F', 'F'})}, part, "audio:");
  Expect400({Text("x"), Audio(png, "m4a")}, part + ".input_audio.format", "'m4a' is not supported");
  Expect400({Text("x"), {{"type", "input_audio"}, {"input_audio", {{"data", "@@"}}}}},
            part + ".input_audio.data", "base64");
  Expect400({Text("x"), {{"type", "video_url"}}}, part + ".type", "'image_url' or 'input_audio'");
  json url = Image(png);
  url["image_url"]["url"] = "https://example.com/cat.png";
  Expect400({Text("x"), url}, part + ".image_url.url", "--allow-media-urls");
}

// Decoded media count against --media-budget while their request runs: more than the whole
// budget in one request is a 400, more than what is left now a 429.
TEST_F(MediaServerTest, DecodedMediaHaveABudget) {
  MediaOptions options;
  options.held_bytes = 3u << 20;  // a 70-token image is 70 × 6912 × 4 = 1.9 MB
  Start(options);
  const auto png = media::samples::EncodePng(media::samples::Smooth(96, 96));
  ASSERT_EQ(Post({Image(png, "low")})->status, 200);  // given back when answered
  ASSERT_EQ(Post({Image(png, "low")})->status, 200);
  Expect400({Image(png, "low"), Image(png, "low")}, "messages[0].content[1]",
            "this server holds at most 3145728");
  // A request holding its reservation: the next one does not fit now.
  MediaDecoder decoder(options);
  BodyReservation held = decoder.Reserve();
  MediaSupport support{.image_patch_px = 48, .max_image_tokens = 300};
  ASSERT_TRUE(decoder.Decode(Image(png, "low"), "p", support, held).ok());
  auto second = decoder.Decode(Image(png, "low"), "p", support, held);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("this server holds at most"), std::string::npos);
  BodyReservation other = decoder.Reserve();
  held.Release();
  EXPECT_TRUE(decoder.Decode(Image(png, "low"), "p", support, other).ok());
  BodyReservation third = decoder.Reserve();
  auto busy = decoder.Decode(Image(png, "low"), "p", support, third);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().http_status, 429);
}

TEST_F(MediaServerTest, ATextOnlyModelRefusesMediaBeforeDecoding) {
  Start({}, /*images=*/false, /*audio=*/false);
  // Not even valid media: the refusal comes first.
  Expect400({Text("x"), Image({'x'})}, "messages[0].content[1]", "takes no images");
  Expect400({Audio({'x'})}, "messages[0].content[0]", "takes no audio");
  EXPECT_TRUE(engine_.requests().empty());
}

TEST_F(MediaServerTest, MediaOnlyInUserMessages) {
  Start();
  httplib::Client client("127.0.0.1", port_);
  const json body = {{"model", "tiny"},
                     {"messages", {{{"role", "system"}, {"content", {Image({'x'})}}},
                                   {{"role", "user"}, {"content", "hi"}}}}};
  auto result = client.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(json::parse(result->body)["error"]["param"], "messages[0].content[0]");
}

// An allow-listed host is fetched; a redirect, an oversized answer and an unlisted host are not.
TEST_F(MediaServerTest, UrlsFromTheAllowList) {
  const auto png = media::samples::EncodePng(media::samples::Smooth(96, 96));
  httplib::Server origin;
  origin.Get("/cat.png", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::string(png.begin(), png.end()), "image/png");
  });
  origin.Get("/moved", [](const httplib::Request&, httplib::Response& response) {
    response.set_redirect("http://elsewhere.example/cat.png");
  });
  origin.Get("/big", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::string(100000, 'x'), "image/png");
  });
  const int origin_port = origin.bind_to_any_port("127.0.0.1");
  // Bound and listening already: connections wait in the backlog until the loop accepts them.
  std::thread serving([&] { origin.listen_after_bind(); });
  MediaOptions options;
  options.url_hosts = {"127.0.0.1"};
  options.max_fetch_bytes = 50000;
  Start(options);
  const std::string base = "http://127.0.0.1:" + std::to_string(origin_port);
  auto with_url = [](const std::string& url) {
    return json{{"type", "image_url"}, {"image_url", {{"url", url}}}};
  };
  auto ok = Post({with_url(base + "/cat.png")});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  const std::string part = "messages[0].content[0].image_url.url";
  Expect400({with_url(base + "/moved")}, part, "redirects are not followed");
  Expect400({with_url(base + "/big")}, part, "the limit is 50000");
  Expect400({with_url(base + "/missing.png")}, part, "answered 404");
  Expect400({with_url("http://localhost:" + std::to_string(origin_port) + "/cat.png")}, part,
            "'localhost' is not in this server's --allow-media-urls list");
  origin.stop();
  serving.join();
}

}  // namespace
}  // namespace snug::server
