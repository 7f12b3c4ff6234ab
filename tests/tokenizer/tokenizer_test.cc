// Encoding and decoding on tiny vocabularies of each kind: merge order, byte fallback,
// whole-token specials, llama.cpp parity details and the streaming detokenizer.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "test_vocabularies.h"

namespace snug::tokenizer {
namespace {

using testing::VocabBuilder;
using Ids = std::vector<TokenId>;

constexpr std::string_view kSpace = "\xE2\x96\x81";  // "▁"

// A SentencePiece vocabulary where "hello" can only be reached by score order.
struct SpmFixture {
  VocabBuilder builder{ModelKind::kSentencePiece};
  TokenId unk, bos, eos, byte0, space, h, e, l, o, he, ll, llo, hello, space_hello, lt, s, gt, lt_s,
      less_s_greater;
  SpmFixture() {
    unk = builder.Add("<unk>", TokenType::kUnknown);
    bos = builder.Add("<s>", TokenType::kControl);
    eos = builder.Add("</s>", TokenType::kControl);
    byte0 = builder.AddByteTokens();
    space = builder.Add(std::string(kSpace), TokenType::kNormal, -10);
    h = builder.Add("h", TokenType::kNormal, -10);
    e = builder.Add("e", TokenType::kNormal, -10);
    l = builder.Add("l", TokenType::kNormal, -10);
    o = builder.Add("o", TokenType::kNormal, -10);
    he = builder.Add("he", TokenType::kNormal, -1);
    ll = builder.Add("ll", TokenType::kNormal, -2);
    llo = builder.Add("llo", TokenType::kNormal, -3);
    hello = builder.Add("hello", TokenType::kNormal, -0.5);
    space_hello = builder.Add(std::string(kSpace) + "hello", TokenType::kNormal, -0.25);
    lt = builder.Add("<", TokenType::kNormal, -10);
    s = builder.Add("s", TokenType::kNormal, -10);
    gt = builder.Add(">", TokenType::kNormal, -10);
    lt_s = builder.Add("<s", TokenType::kNormal, -1);
    builder.vocab().bos = bos;
    builder.vocab().eos = eos;
    builder.vocab().unk = unk;
    builder.vocab().add_bos = true;
  }
  TokenId Byte(uint8_t b) const { return byte0 + b; }
};

TEST(SentencePiece, MergesByScore) {
  SpmFixture f;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Encode("hello"), (Ids{f.hello}));
  EXPECT_EQ(t.Encode("hello hello"), (Ids{f.hello, f.space_hello}));
  EXPECT_EQ(t.Encode("hell"), (Ids{f.he, f.ll}));
  EXPECT_EQ(t.Encode("hello", {.add_bos = true}), (Ids{f.bos, f.hello}));
  EXPECT_EQ(t.Encode(""), Ids{});
}

TEST(SentencePiece, SpacePrefixOnlyWhenAsked) {
  SpmFixture f;
  f.builder.vocab().add_space_prefix = true;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Encode("hello"), (Ids{f.space_hello}));
  // llama.cpp adds the prefix again to the text after a special token.
  EXPECT_EQ(t.Encode("hello</s>hello", {.parse_special = true}),
            (Ids{f.space_hello, f.eos, f.space_hello}));
  EXPECT_EQ(t.Decode(t.Encode("hello hello")), "hello hello");
}

TEST(SentencePiece, ByteFallback) {
  SpmFixture f;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Encode("h\xC3\xA9"), (Ids{f.h, f.Byte(0xC3), f.Byte(0xA9)}));
  EXPECT_EQ(t.Decode(t.Encode("h\xC3\xA9llo")), "h\xC3\xA9llo");
  // llama.cpp cuts symbols by the lead byte's announced length, so a broken lead byte swallows
  // the next character into its byte fallback.
  EXPECT_EQ(t.Encode("\xC3h"), (Ids{f.Byte(0xC3), f.Byte('h')}));
  EXPECT_EQ(t.Encode("h\x80"), (Ids{f.h, f.Byte(0x80)}));
}

TEST(SentencePiece, NeverAssemblesControlTokensFromText) {
  SpmFixture f;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Encode("<s>"), (Ids{f.lt_s, f.gt}));
  EXPECT_EQ(t.Encode("<s>", {.parse_special = true}), (Ids{f.bos}));
}

TEST(MergesBpe, MergesByRankLeftmostFirst) {
  VocabBuilder b(ModelKind::kMergesBpe);
  const TokenId byte0 = b.AddByteTokens();
  const TokenId a = b.Add("a"), h = b.Add("h"), e = b.Add("e"), l = b.Add("l"), o = b.Add("o");
  const TokenId aa = b.Merge(a, a);
  const TokenId ll = b.Merge(l, l);
  const TokenId he = b.Merge(h, e);
  const TokenId llo = b.Merge(ll, o);
  const TokenId hello = b.Merge(he, llo);
  const Tokenizer t = b.Build();
  EXPECT_EQ(t.Encode("hello"), (Ids{hello}));
  EXPECT_EQ(t.Encode("aaa"), (Ids{aa, a}));
  EXPECT_EQ(t.Encode("aaaa"), (Ids{aa, aa}));
  EXPECT_EQ(t.Encode("hex"), (Ids{he, byte0 + 'x'}));
  EXPECT_EQ(t.Decode(t.Encode("aaahex")), "aaahex");
}

TEST(MergesBpe, SpacesBecomeMarkers) {
  VocabBuilder b(ModelKind::kMergesBpe);
  b.AddByteTokens();
  const TokenId space = b.Add(std::string(kSpace)), x = b.Add("x");
  const TokenId space_x = b.Merge(space, x);
  const Tokenizer t = b.Build();
  EXPECT_EQ(t.Encode(" x x"), (Ids{space_x, space_x}));
  EXPECT_EQ(t.Decode(t.Encode(" x x")), " x x");
}

// Byte-level vocabulary with the GPT-2 default pre-tokenizer.
struct ByteLevelFixture {
  VocabBuilder builder{ModelKind::kByteLevelBpe};
  TokenId byte0, he, ll, hell, hello, space_hello, end, tool;
  ByteLevelFixture() {
    byte0 = builder.AddByteLevelAlphabet();
    he = builder.Merge(byte0 + 'h', byte0 + 'e');
    ll = builder.Merge(byte0 + 'l', byte0 + 'l');
    hell = builder.Merge(he, ll);
    hello = builder.Merge(hell, byte0 + 'o');
    space_hello = builder.Merge(byte0 + ' ', hello);
    end = builder.Add("<|end|>", TokenType::kControl);
    tool = builder.Add("<tool>", TokenType::kUserDefined);
    builder.vocab().pre = "default";
  }
};

TEST(ByteLevel, PreTokenizesThenMerges) {
  ByteLevelFixture f;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Encode("hello hello"), (Ids{f.hello, f.space_hello}));
  EXPECT_EQ(t.Encode("hello\n"), (Ids{f.hello, f.byte0 + '\n'}));
  const std::string text = "hello, hello!\n\tcaf\xC3\xA9 \xF0\x9F\x98\x80";
  EXPECT_EQ(t.Decode(t.Encode(text)), text);
}

TEST(ByteLevel, InvalidBytesBecomeReplacementCharacters) {
  ByteLevelFixture f;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Encode("\xFF"), (Ids{f.byte0 + 0xEF, f.byte0 + 0xBF, f.byte0 + 0xBD}));
  EXPECT_EQ(t.Decode(t.Encode("a\xFF")), "a\xEF\xBF\xBD");
}

TEST(ByteLevel, SpecialsAreWholeTokens) {
  ByteLevelFixture f;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Encode("hello<|end|>", {.parse_special = true}), (Ids{f.hello, f.end}));
  // Without parse_special a control token is plain text; a user-defined one is always whole.
  const Ids plain = t.Encode("<|end|>");
  EXPECT_EQ(plain.size(), 7u);
  EXPECT_EQ(t.Encode("<tool>hello"), (Ids{f.tool, f.hello}));
  EXPECT_EQ(t.Decode(Ids{f.hello, f.end}), "hello");
  EXPECT_EQ(t.Decode(Ids{f.hello, f.end}, {.render_special = true}), "hello<|end|>");
}

TEST(ByteLevel, IgnoreMergesTakesWholePieces) {
  ByteLevelFixture f;
  // "xyz" is a token no merge produces: only ignore_merges finds it.
  const TokenId xyz = f.builder.Add("xyz");
  f.builder.vocab().ignore_merges = true;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Encode("xyz"), (Ids{xyz}));
  f.builder.vocab().ignore_merges = false;
  EXPECT_EQ(f.builder.Build().Encode("xyz").size(), 3u);
}

TEST(Specials, LeftmostThenLongest) {
  VocabBuilder b(ModelKind::kMergesBpe);
  const TokenId byte0 = b.AddByteTokens();
  const TokenId x = b.Add("x");
  b.Merge(x, x);
  const TokenId a = b.Add("<a>", TokenType::kControl);
  const TokenId ab = b.Add("<a><b>", TokenType::kControl);
  const TokenId b_end = b.Add("b>", TokenType::kControl);
  const Tokenizer t = b.Build();
  const EncodeOptions special{.parse_special = true};
  EXPECT_EQ(t.Encode("<a><b>", special), (Ids{ab}));
  EXPECT_EQ(t.Encode("<a>x", special), (Ids{a, x}));
  EXPECT_EQ(t.Encode("x<a><b>b>", special), (Ids{x, ab, b_end}));
  EXPECT_EQ(t.Encode("<a", special), (Ids{byte0 + '<', byte0 + 'a'}));
}

TEST(StreamingDetokenizer, HoldsBackIncompleteSequences) {
  SpmFixture f;
  const Tokenizer t = f.builder.Build();
  StreamingDetokenizer stream(t);
  EXPECT_EQ(stream.Push(f.hello), "hello");
  EXPECT_EQ(stream.Push(f.Byte(0xE2)), "");
  EXPECT_EQ(stream.Push(f.Byte(0x82)), "");
  EXPECT_EQ(stream.Push(f.Byte(0xAC)), "\xE2\x82\xAC");
  // A byte that can never start a character is replaced at once.
  EXPECT_EQ(stream.Push(f.Byte(0xFF)), "\xEF\xBF\xBD");
  // A lead byte followed by a non-continuation: known bad only when the next token arrives.
  EXPECT_EQ(stream.Push(f.Byte(0xE2)), "");
  EXPECT_EQ(stream.Push(f.h), "\xEF\xBF\xBDh");
  EXPECT_EQ(stream.Push(f.Byte(0xF0)), "");
  EXPECT_EQ(stream.Push(f.Byte(0x9F)), "");
  EXPECT_EQ(stream.Finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.Finish(), "");
}

TEST(StreamingDetokenizer, MatchesDecodeOnValidText) {
  ByteLevelFixture f;
  const Tokenizer t = f.builder.Build();
  const std::string text = "hello \xF0\x9F\x98\x80 caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 hello";
  std::string streamed;
  StreamingDetokenizer stream(t);
  for (const TokenId id : t.Encode(text)) {
    const std::string piece = stream.Push(id);
    EXPECT_TRUE(IsValidUtf8(piece));
    streamed += piece;
  }
  streamed += stream.Finish();
  EXPECT_EQ(streamed, text);
}

TEST(Tokenizer, OutOfRangeIdsDecodeToNothing) {
  SpmFixture f;
  const Tokenizer t = f.builder.Build();
  EXPECT_EQ(t.Decode(Ids{-5, f.hello, 1 << 20}), "hello");
  EXPECT_EQ(t.Find("hello"), f.hello);
  EXPECT_EQ(t.Find("nope"), kNoToken);
}

}  // namespace
}  // namespace snug::tokenizer
