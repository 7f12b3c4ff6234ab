// Images and audio through the engine on gemma4-unified-tiny: prompts rendered from chat parts
// place the media, an image larger than the limit is refused with both numbers, mismatched
// media are refused, a text-only model refuses media, the prefix cache reuses an image's KV only
// for the same content hash, an image is prefilled whole, and <image|> is never sampled.
#include <algorithm>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "tokenizer/chat_format.h"

namespace snug::testing {
namespace {

constexpr char kPreset[] = "gemma4-unified-tiny";

media::PatchGrid Grid(int rows, int cols, uint64_t hash, float value = 0.25f) {
  media::PatchGrid grid{.rows = rows, .cols = cols, .patch_px = 48};
  grid.values.assign(static_cast<size_t>(rows) * cols * grid.patch_values(), value);
  for (size_t i = 0; i < grid.values.size(); i += 7) grid.values[i] = 0.9f;
  grid.hash = hash;
  return grid;
}

const tokenizer::Tokenizer& Vocab() {
  static LoadedModel* model = new LoadedModel(Load(ReferencePool(), kPreset));
  return model->tokenizer;
}

// A user message of `text` and one image of `soft_tokens`, as the server renders it.
std::vector<int32_t> ChatPrompt(const std::string& text, int soft_tokens, bool audio = false) {
  tokenizer::ChatMessage user{.role = "user"};
  user.parts = {{.type = tokenizer::ChatPartType::kText, .text = text},
                {.type = audio ? tokenizer::ChatPartType::kAudio : tokenizer::ChatPartType::kImage,
                 .soft_tokens = soft_tokens}};
  const std::vector<tokenizer::ChatMessage> messages = {user};
  auto prompt = tokenizer::RenderChatPrompt(tokenizer::ChatFormat::kGemma4, messages);
  CHECK(prompt.ok()) << prompt.status().ToString();
  return tokenizer::EncodeChat(Vocab(), *prompt);
}

const std::string kLongText =
    "the cat and the dog went to the market and the cat saw a bird and the dog saw a "
    "fish and then they went home to sleep in the warm sun of the afternoon";

TEST(MediaEngineTest, SupportAndLimits) {
  auto engine =
      Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32, .max_image_tokens = 8},
            nullptr, kPreset);
  const MediaSupport& support = engine->media_support();
  EXPECT_EQ(support.image_patch_px, 48);
  EXPECT_EQ(support.audio_frame_samples, 640);
  EXPECT_EQ(support.max_image_tokens, 8);

  Request big = Greedy(ChatPrompt("look", 12), 2);
  big.media.push_back(Grid(3, 4, 1));
  auto refused = engine->Submit(std::move(big));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("12 soft tokens"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("at most 8"), std::string::npos);

  Request missing = Greedy(ChatPrompt("look", 6), 2);  // placeholders, no image
  refused = engine->Submit(std::move(missing));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("more image placeholders"), std::string::npos)
      << refused.status().message();

  Request wrong = Greedy(ChatPrompt("look", 6), 2);
  wrong.media.push_back(Grid(2, 2, 1));  // 4 soft tokens for a run of 6
  refused = engine->Submit(std::move(wrong));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("image 1 has 4 soft tokens"), std::string::npos)
      << refused.status().message();

  // Without a limit the largest image is what a step holds beside the decode tokens.
  auto unlimited =
      Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32}, nullptr, kPreset);
  EXPECT_EQ(unlimited->media_support().max_image_tokens, 30);
}

TEST(MediaEngineTest, TextOnlyModelRefusesMedia) {
  auto engine = Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 32}, nullptr,
                      "gemma4-tiny");
  EXPECT_FALSE(engine->media_support().images());
  EXPECT_FALSE(engine->media_support().audio());
  Request request = Greedy({2, 40, 41}, 2);
  request.media.push_back(Grid(1, 1, 1));
  auto refused = engine->Submit(std::move(request));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("takes no images"), std::string::npos);
}

TEST(MediaEngineTest, ImagesAndAudioRunCountSoftTokensAndPrefillImagesWhole) {
  ControlledModel* control = nullptr;
  auto engine =
      Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32, .max_image_tokens = 16},
            &control, kPreset);
  // Every batch holds each image block whole.
  std::vector<std::string> split;
  control->before_forward = [&](const Batch& batch) {
    for (const BatchMedia& entry : batch.media) {
      if (entry.image != nullptr &&
          (entry.first_item_token != 0 || entry.num_tokens != entry.image->soft_tokens())) {
        split.push_back("image split");
      }
    }
  };
  // Text long enough that the image does not fit the first chunk's rest.
  std::vector<int32_t> prompt = ChatPrompt(kLongText, 12);
  Request request = Greedy(prompt, 3);
  request.media.push_back(Grid(3, 4, 5));
  Outcome outcome = Collect(*MustSubmit(*engine, std::move(request)));
  ASSERT_FALSE(outcome.error) << outcome.error->ToString();
  EXPECT_EQ(outcome.done->prompt_tokens, static_cast<int>(prompt.size()));
  EXPECT_EQ(outcome.tokens[0].size(), 3u);
  EXPECT_TRUE(split.empty());

  // Audio: 40 frames, longer than a chunk, split across steps.
  std::vector<int32_t> spoken = ChatPrompt("listen", 40, /*audio=*/true);
  media::AudioFrames clip{.frames = 40, .frame_samples = 640};
  clip.samples.assign(40 * 640, 0.1f);
  Request audio = Greedy(spoken, 2);
  audio.media.push_back(clip);
  outcome = Collect(*MustSubmit(*engine, std::move(audio)));
  ASSERT_FALSE(outcome.error) << outcome.error->ToString();
  EXPECT_EQ(outcome.done->prompt_tokens, static_cast<int>(spoken.size()));
}

TEST(MediaEngineTest, PrefixCacheReusesAnImageOnlyForTheSameHash) {
  // A batch of 64 makes the sliding rings (window 32 + batch) hold the window before the text
  // prefix after a whole ~115-token prompt was written.
  auto engine =
      Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 64, .max_image_tokens = 16},
            nullptr, kPreset);
  const std::vector<int32_t> prompt = ChatPrompt(kLongText, 12);
  auto run = [&](uint64_t hash) {
    Request request = Greedy(prompt, 2);
    request.media.push_back(Grid(3, 4, hash));
    const Outcome outcome = Collect(*MustSubmit(*engine, std::move(request)));
    EXPECT_FALSE(outcome.error);
    return outcome.done->cached_tokens;
  };
  EXPECT_EQ(run(1), 0);
  // The same screenshot again: everything up to the prompt's last token is reused.
  EXPECT_EQ(run(1), static_cast<int>(prompt.size()) - 1);
  // Other pixels (another hash), same placeholders: only the text before the image.
  const int other = run(2);
  const int first_soft = static_cast<int>(
      std::find(prompt.begin(), prompt.end(), Vocab().Find("<|image|>")) - prompt.begin());
  ASSERT_GT(first_soft, 32);
  EXPECT_EQ(other, first_soft);
}

// A raw prompt that ends inside an image: the cached prefix may not end inside the block (it is
// prefilled whole), so the second request reuses only what precedes the image, and answers as
// the first did.
TEST(MediaEngineTest, ACachedPrefixNeverEndsInsideAnImage) {
  auto engine =
      Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 64, .max_image_tokens = 16},
            nullptr, kPreset);
  std::vector<int32_t> prompt = ChatPrompt(kLongText, 12);
  const int32_t soft = Vocab().Find("<|image|>");
  const int first_soft =
      static_cast<int>(std::find(prompt.begin(), prompt.end(), soft) - prompt.begin());
  prompt.resize(first_soft + 12);  // ends with the image's last soft token
  auto run = [&] {
    Request request = Greedy(prompt, 3);
    request.media.push_back(Grid(3, 4, 1));
    return Collect(*MustSubmit(*engine, std::move(request)));
  };
  const Outcome cold = run();
  const Outcome warm = run();
  ASSERT_FALSE(cold.error);
  ASSERT_FALSE(warm.error);
  EXPECT_EQ(cold.done->cached_tokens, 0);
  EXPECT_EQ(warm.done->cached_tokens, first_soft);
  EXPECT_EQ(warm.tokens, cold.tokens);
}

TEST(MediaEngineTest, EndOfMediaTokensAreNeverSampled) {
  ControlledModel* control = nullptr;
  auto engine =
      Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 32, .max_image_tokens = 16},
            &control, kPreset);
  const tokenizer::Tokenizer& vocab = Vocab();
  const int32_t image_end = vocab.Find("<image|>"), audio_end = vocab.Find("<audio|>");
  ASSERT_GE(image_end, 0);
  const int vocab_size = control->spec().vocab_size;
  control->rewrite_logits = [&](const Batch& batch, float* logits) {
    for (size_t r = 0; r < batch.logit_indices.size(); ++r) {
      logits[r * vocab_size + image_end] = 1e9f;
      logits[r * vocab_size + audio_end] = 1e8f;
    }
  };
  Request request = Greedy(ChatPrompt("look", 4), 4);
  request.media.push_back(Grid(2, 2, 3));
  const Outcome outcome = Collect(*MustSubmit(*engine, std::move(request)));
  ASSERT_FALSE(outcome.error);
  ASSERT_EQ(outcome.tokens[0].size(), 4u);
  for (const int32_t token : outcome.tokens[0]) {
    EXPECT_NE(token, image_end);
    EXPECT_NE(token, audio_end);
  }
}

}  // namespace
}  // namespace snug::testing
