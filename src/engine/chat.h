// Which chat format a model speaks, from its architecture (and later its template).
#pragma once

#include "base/status.h"
#include "models/model.h"
#include "tokenizer/chat_format.h"

namespace snug {

Result<tokenizer::ChatFormat> ChatFormatFor(const ModelSpec& spec);

}  // namespace snug
