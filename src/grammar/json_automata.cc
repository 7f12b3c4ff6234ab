// JSON strings (RFC 8259 §7: escapes, no raw control characters; content well-formed UTF-8 per
// Unicode Table 3-7) and numbers (§6: no leading zeros, "-0", fraction, exponent) as automata.
#include "grammar/json_automata.h"

namespace snug::grammar::internal {
namespace {

bool Between(uint8_t byte, uint8_t first, uint8_t last) { return byte >= first && byte <= last; }
bool Digit(uint8_t byte) { return Between(byte, '0', '9'); }
bool Hex(uint8_t byte) { return Digit(byte) || Between(byte, 'a', 'f') || Between(byte, 'A', 'F'); }

enum Phase : int32_t {
  kStart,
  kMinus,
  kZero,     // "0" or "-0": complete
  kInteger,  // complete
  kDot,
  kFraction,  // complete
  kE,
  kExponentSign,
  kExponent,  // complete
};

int32_t Make(Phase phase, int digits) { return phase * 32 + digits; }

}  // namespace

int32_t StepString(int32_t state, uint8_t byte) {
  switch (state) {
    case kStringOpen:
      return byte == '"' ? kStringContent : kReject;
    case kStringContent:
      if (byte == '"') return kStringClosed;
      if (byte == '\\') return kStringEscape;
      if (byte < 0x20) return kReject;
      if (byte < 0x80) return kStringContent;
      if (Between(byte, 0xC2, 0xDF)) return kStringNeed1;
      if (byte == 0xE0) return kStringAfterE0;
      if (byte == 0xED) return kStringAfterED;
      if (Between(byte, 0xE1, 0xEF)) return kStringNeed2;
      if (byte == 0xF0) return kStringAfterF0;
      if (Between(byte, 0xF1, 0xF3)) return kStringNeed3;
      if (byte == 0xF4) return kStringAfterF4;
      return kReject;
    case kStringEscape:
      switch (byte) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          return kStringContent;
        case 'u':
          return kStringHex1;
        default:
          return kReject;
      }
    case kStringHex1:
    case kStringHex1 + 1:
    case kStringHex1 + 2:
      return Hex(byte) ? state + 1 : kReject;
    case kStringHex1 + 3:
      return Hex(byte) ? kStringContent : kReject;
    case kStringNeed1:
      return Between(byte, 0x80, 0xBF) ? kStringContent : kReject;
    case kStringNeed2:
      return Between(byte, 0x80, 0xBF) ? kStringNeed1 : kReject;
    case kStringNeed3:
      return Between(byte, 0x80, 0xBF) ? kStringNeed2 : kReject;
    case kStringAfterE0:
      return Between(byte, 0xA0, 0xBF) ? kStringNeed1 : kReject;
    case kStringAfterED:  // no UTF-16 surrogates
      return Between(byte, 0x80, 0x9F) ? kStringNeed1 : kReject;
    case kStringAfterF0:
      return Between(byte, 0x90, 0xBF) ? kStringNeed2 : kReject;
    case kStringAfterF4:  // nothing past U+10FFFF
      return Between(byte, 0x80, 0x8F) ? kStringNeed2 : kReject;
    default:
      return kReject;
  }
}

int32_t StepNumber(int32_t state, uint8_t byte, bool integer) {
  const int32_t phase = state / 32;
  const int digits = state % 32;
  const bool exponent = byte == 'e' || byte == 'E';
  switch (phase) {
    case kStart:
      if (byte == '-') return Make(kMinus, 0);
      [[fallthrough]];
    case kMinus:
      if (byte == '0') return Make(kZero, 1);
      if (Between(byte, '1', '9')) return Make(kInteger, 1);
      return kReject;
    case kZero:
    case kInteger:
      if (phase == kInteger && Digit(byte)) {
        return digits < kMaxIntegerDigits ? Make(kInteger, digits + 1) : kReject;
      }
      if (integer) return kReject;
      if (byte == '.') return Make(kDot, 0);
      return exponent ? Make(kE, 0) : kReject;
    case kDot:
      return Digit(byte) ? Make(kFraction, 1) : kReject;
    case kFraction:
      if (Digit(byte)) return digits < kMaxFractionDigits ? Make(kFraction, digits + 1) : kReject;
      return exponent ? Make(kE, 0) : kReject;
    case kE:
      if (byte == '+' || byte == '-') return Make(kExponentSign, 0);
      [[fallthrough]];
    case kExponentSign:
      return Digit(byte) ? Make(kExponent, 1) : kReject;
    case kExponent:
      return Digit(byte) && digits < kMaxExponentDigits ? Make(kExponent, digits + 1) : kReject;
    default:
      return kReject;
  }
}

bool NumberCanEnd(int32_t state) {
  const int32_t phase = state / 32;
  return phase == kZero || phase == kInteger || phase == kFraction || phase == kExponent;
}

}  // namespace snug::grammar::internal
