// Overloaded{lambdas...}: one visitor from several lambdas, for std::visit over a variant. A
// visit that leaves a kind out does not compile, which is the point of using variants.
#pragma once

namespace snug {

template <class... Functions>
struct Overloaded : Functions... {
  using Functions::operator()...;
};
template <class... Functions>
Overloaded(Functions...) -> Overloaded<Functions...>;

}  // namespace snug
