// CHECK for programmer invariants (always on), DCHECK for hot loops (debug builds only).
// Untrusted input never reaches a CHECK: it gets a Status (base/status.h).
#pragma once

#include <sstream>

namespace snug::internal {

// Collects the streamed message and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  template <class T>
  CheckFailure& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Lets `CHECK(x) << ...` be a single expression whose both branches are void.
struct Voidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace snug::internal

#define CHECK(condition)                  \
  (condition) ? (void)0                   \
              : ::snug::internal::Voidify() & \
                    ::snug::internal::CheckFailure(__FILE__, __LINE__, #condition)

#define CHECK_EQ(a, b) CHECK((a) == (b)) << #a " = " << (a) << ", " #b " = " << (b) << " "
#define CHECK_LE(a, b) CHECK((a) <= (b)) << #a " = " << (a) << ", " #b " = " << (b) << " "
#define CHECK_LT(a, b) CHECK((a) < (b)) << #a " = " << (a) << ", " #b " = " << (b) << " "
#define CHECK_GE(a, b) CHECK((a) >= (b)) << #a " = " << (a) << ", " #b " = " << (b) << " "

#ifdef NDEBUG
#define DCHECK(condition) \
  while (false) CHECK(condition)
#else
#define DCHECK(condition) CHECK(condition)
#endif
