// The per-layer observer (Model::set_observer): it sees every layer's tensors in layer order,
// each [num_tokens, model_dim], and leaves the logits bit for bit as they are without one.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "forward_helpers.h"

namespace snug {
namespace {

struct Seen {
  std::string name;
  int layer;
  int64_t rows, cols;
};

TEST(ObserverTest, SeesEveryLayerInOrderAndChangesNothing) {
  ThreadPool pool(2);
  for (const std::string preset : {"gemma3-tiny", "gemma4-tiny", "gptoss-tiny", "llama-tiny"}) {
    SCOPED_TRACE(preset);
    test::Loaded loaded = test::WriteAndLoad(preset, DType::kF32, pool, 16);
    Model& model = *loaded.model;
    const ModelSpec& spec = model.spec();
    auto kv =
        KvCache::Create(spec.KvLayers(), {.slots = 1, .context_tokens = 64, .batch_tokens = 16});
    ASSERT_TRUE(kv.ok());
    const std::vector<int32_t> tokens = test::RandomTokens(12, spec.vocab_size, 5);
    const std::vector<float> plain = test::RunInChunks(model, **kv, tokens, 12);

    std::vector<Seen> seen;
    std::vector<float> last_layer_out;
    model.set_observer([&](std::string_view name, int layer, const TensorView& tensor) {
      seen.push_back({std::string(name), layer, tensor.rows(), tensor.cols()});
      if (name == "l_out" && layer == static_cast<int>(spec.layers.size()) - 1) {
        const float* data = static_cast<const float*>(tensor.data);
        last_layer_out.assign(data, data + tensor.elements());
      }
    });
    const std::vector<float> observed = test::RunInChunks(model, **kv, tokens, 12);
    model.set_observer(nullptr);
    ASSERT_EQ(plain.size(), observed.size());
    EXPECT_EQ(0, std::memcmp(plain.data(), observed.data(), plain.size() * sizeof(float)));

    // inp_embd, then attn_out, ffn_out, l_out per layer, then result_norm (one logit row each).
    std::vector<Seen> expected = {{"inp_embd", -1, 12, spec.model_dim}};
    for (int i = 0; i < static_cast<int>(spec.layers.size()); ++i) {
      for (const char* name : {"attn_out", "ffn_out", "l_out"}) {
        expected.push_back({name, i, 12, spec.model_dim});
      }
    }
    expected.push_back({"result_norm", -1, 12, spec.model_dim});
    ASSERT_EQ(seen.size(), expected.size());
    for (size_t i = 0; i < seen.size(); ++i) {
      EXPECT_EQ(seen[i].name, expected[i].name) << i;
      EXPECT_EQ(seen[i].layer, expected[i].layer) << i;
      EXPECT_EQ(seen[i].rows, expected[i].rows) << i;
      EXPECT_EQ(seen[i].cols, expected[i].cols) << i;
    }
    // The last layer's output is the residual stream the final norm reads.
    EXPECT_EQ(last_layer_out.size(), static_cast<size_t>(12 * spec.model_dim));
  }
}

}  // namespace
}  // namespace snug
