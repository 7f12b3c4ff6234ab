#include "server/context.h"

#include <random>

namespace snug::server {

std::vector<std::string> ServedModel::Names() const {
  std::vector<std::string> names{id};
  names.insert(names.end(), aliases.begin(), aliases.end());
  return names;
}

bool ServedModel::Serves(std::string_view name) const {
  if (name == id) return true;
  for (const std::string& alias : aliases) {
    if (name == alias) return true;
  }
  return false;
}

void ServerContext::SetModel(ServedModel model) {
  {
    std::lock_guard lock(mutex_);
    model_ = std::make_shared<const ServedModel>(std::move(model));
  }
  ServerState expected = ServerState::kLoading;
  state_.compare_exchange_strong(expected, ServerState::kReady);
}

std::shared_ptr<const ServedModel> ServerContext::model() const {
  std::lock_guard lock(mutex_);
  return model_;
}

ApiResult<std::shared_ptr<const ServedModel>> ServerContext::AcquireModel() const {
  switch (state_.load()) {
    case ServerState::kLoading:
      return NotLoaded();
    case ServerState::kDraining:
      return Draining();
    case ServerState::kReady:
      break;
  }
  return model();
}

std::string ServerContext::NewId(std::string_view prefix) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 random(std::random_device{}());
  std::string id(prefix);
  for (int i = 0; i < 24; ++i) id += kAlphabet[random() % (sizeof(kAlphabet) - 1)];
  return id;
}

}  // namespace snug::server
