// The JSON lexical automata behind ElementKind::kString, kNumber and kInteger: byte-at-a-time
// transition functions over small integer sub-states. Internal to grammar/.
#pragma once

#include <cstdint>

#include "grammar/grammar.h"

namespace snug::grammar::internal {

inline constexpr int32_t kReject = -1;

// String sub-states: before the opening quote, content, after a backslash, \u hex digits 1-4,
// UTF-8 continuation bytes still needed (with the narrowed second byte of E0, ED, F0, F4).
enum StringState : int32_t {
  kStringOpen = 0,
  kStringContent,
  kStringEscape,
  kStringHex1,  // ..kStringHex1 + 3
  kStringNeed1 = kStringHex1 + 4,
  kStringNeed2,
  kStringNeed3,
  kStringAfterE0,
  kStringAfterED,
  kStringAfterF0,
  kStringAfterF4,
  kStringClosed,
};

// Digits the number automata allow per part: 15 integer digits keep integers exact in a double
// (and inside JavaScript's safe range), two exponent digits keep every number finite.
inline constexpr int kMaxIntegerDigits = 15;
inline constexpr int kMaxFractionDigits = 15;
inline constexpr int kMaxExponentDigits = 2;

int32_t StepString(int32_t state, uint8_t byte);
// Number sub-state: phase * 32 + digits in the current part.
int32_t StepNumber(int32_t state, uint8_t byte, bool integer);
bool NumberCanEnd(int32_t state);

}  // namespace snug::grammar::internal
