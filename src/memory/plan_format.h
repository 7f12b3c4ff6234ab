// The memory plan as people read it (a table) and as programs read it (JSON).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "memory/plan.h"

namespace snug::memory {

std::string FormatPlan(const MemoryPlan& plan, const ModelFacts& model);
std::string FormatAlternatives(const std::vector<Alternative>& alternatives,
                               const MemoryPlan& plan);
nlohmann::ordered_json PlanToJson(const MemoryPlan& plan, const ModelFacts& model);
nlohmann::ordered_json AlternativesToJson(const std::vector<Alternative>& alternatives);

}  // namespace snug::memory
