// One step of the engine's loop: the Batch (one decode token per running sequence, prefill
// chunks in what is left of batch_tokens), one Forward, then each sequence's logits turned into
// tokens, text and Events. Every buffer is sized at start: what a step allocates is the events
// it sends, and running out of memory there ends only the request concerned.
#include <algorithm>
#include <limits>
#include <span>
#include <string>

#include "base/check.h"
#include "engine/engine_impl.h"

namespace snug {

bool EngineImpl::Step() {
  tokens_.clear();
  batch_media_.clear();
  positions_.clear();
  batch_slots_.clear();
  logit_indices_.clear();
  auto add_token = [&](int32_t token, int position, int slot) {
    tokens_.push_back(token);
    positions_.push_back(position);
    batch_slots_.push_back(slot);
  };
  // (a) One decode token for every running sequence: streams never wait for a prefill.
  for (auto& request : running_) {
    request->chunk_tokens = 0;
    if (request->prefilling()) continue;
    for (Sequence& sequence : request->sequences) {
      sequence.logit_row = -1;
      if (sequence.finished) continue;
      sequence.logit_row = static_cast<int>(logit_indices_.size());
      logit_indices_.push_back(static_cast<int32_t>(tokens_.size()));
      add_token(sequence.next_token, kv_->length(sequence.slot), sequence.slot);
    }
  }
  const int decode_tokens = static_cast<int>(tokens_.size());
  // (b) Prefill chunks in what is left, the fewest remaining prompt tokens first: a short
  // prompt admitted beside a long one is prefilled in the next step (its time to first token
  // does not wait for the long prompt), and the long one takes the rest of every step. At most
  // `parallel` requests prefill at once, so nothing waits for long. `room` is what the buffers
  // hold; `budget`, what the pacer allows beside decoding streams (their pause).
  int room = options_.batch_tokens - decode_tokens;
  int budget = pacer_.PrefillBudget(decode_tokens, room);
  auto remaining = [](const RunningRequest& r) {
    return static_cast<int>(r.request.prompt.size()) - r.prefilled_tokens;
  };
  while (budget > 0) {
    RunningRequest* request = nullptr;
    for (auto& candidate : running_) {
      if (candidate->prefilling() && candidate->chunk_tokens == 0 &&
          (request == nullptr || remaining(*candidate) < remaining(*request))) {
        request = candidate.get();
      }
    }
    if (request == nullptr) break;
    const int prompt_tokens = static_cast<int>(request->request.prompt.size());
    const bool echo = request->request.echo_prompt_logprobs;
    int chunk = std::min(budget, prompt_tokens - request->prefilled_tokens);
    // Echo needs every prompt row's logits; the logits buffer bounds the chunk instead.
    if (echo) chunk = std::min(chunk, logit_rows_ - static_cast<int>(logit_indices_.size()));
    if (chunk <= 0) {
      request->chunk_tokens = -1;  // no room this step: not a candidate again
      continue;
    }
    // An image is one chunk (bidirectional attention, §2.3): a chunk ends before an image it
    // cannot hold whole; an image that does not fit what is left waits for the next step. An
    // image next in line goes whole when the buffers hold it, whatever the pacer's budget.
    for (const MediaSpan& span : request->media_spans) {
      const int end = span.first_token + span.num_tokens;
      if (!span.image || end <= request->prefilled_tokens) continue;
      if (span.first_token >= request->prefilled_tokens + chunk) break;
      if (end > request->prefilled_tokens + chunk) {
        chunk = span.first_token - request->prefilled_tokens;
        if (chunk == 0 && span.num_tokens <= room && !echo) chunk = span.num_tokens;
        break;
      }
    }
    if (chunk <= 0) {
      request->chunk_tokens = -1;
      continue;
    }
    const bool last = request->prefilled_tokens + chunk == prompt_tokens;
    const int slot = request->sequences[0].slot;
    request->chunk_tokens = chunk;
    request->chunk_first_row = static_cast<int>(logit_indices_.size());
    for (int i = 0; i < chunk; ++i) {
      const int position = request->prefilled_tokens + i;
      if (echo || (last && i == chunk - 1)) {
        logit_indices_.push_back(static_cast<int32_t>(tokens_.size()));
      }
      add_token(request->request.prompt[position], position, slot);
    }
    AddBatchMedia(*request, static_cast<int>(tokens_.size()) - chunk);
    budget -= chunk;
    room -= chunk;
  }
  if (tokens_.empty()) return false;
  CHECK_LE(static_cast<int>(logit_indices_.size()), logit_rows_);

  const Batch batch{tokens_, positions_, batch_slots_, logit_indices_, batch_media_};
  const Clock::time_point started = Clock::now();
  model_.model->Forward(batch, *kv_, logits_.data());
  const int prefill_tokens = static_cast<int>(tokens_.size()) - decode_tokens;
  pacer_.Observe(decode_tokens, prefill_tokens,
                 std::chrono::duration<double>(Clock::now() - started).count());
  window_decode_ += decode_tokens;
  window_prefill_ += prefill_tokens;

  // The KV now holds the batch's rows: record them (lengths, the prefix cache's token ids)
  // before anything that may fail for one request.
  for (auto& request : running_) {
    if (request->chunk_tokens > 0) {
      const int slot = request->sequences[0].slot;
      const int begin = request->prefilled_tokens;
      kv_->set_length(slot, begin + request->chunk_tokens);
      slot_table_.Append(slot, request->keys().subspan(begin, request->chunk_tokens));
      Guarded(*request, [&] { FinishChunk(*request); });
      continue;
    }
    for (Sequence& sequence : request->sequences) {
      if (sequence.logit_row < 0 || sequence.finished) continue;
      kv_->set_length(sequence.slot, kv_->length(sequence.slot) + 1);
      slot_table_.Append(sequence.slot, sequence.next_token);
      Guarded(*request, [&] { Advance(*request, sequence, Row(sequence.logit_row)); });
    }
  }
  return true;
}

void EngineImpl::AddBatchMedia(const RunningRequest& request, int first_row) {
  const int begin = request.prefilled_tokens, end = begin + request.chunk_tokens;
  for (const MediaSpan& span : request.media_spans) {
    const int span_end = span.first_token + span.num_tokens;
    if (span_end <= begin || span.first_token >= end) continue;
    const int first = std::max(begin, span.first_token), last = std::min(end, span_end);
    BatchMedia entry{.first_token = first_row + first - begin,
                     .num_tokens = last - first,
                     .first_item_token = first - span.first_token,
                     .bidirectional = span.image};
    const MediaInput& item = request.request.media[span.item];
    if (span.image) {
      entry.image = &std::get<media::PatchGrid>(item);
    } else {
      entry.audio = &std::get<media::AudioFrames>(item);
    }
    batch_media_.push_back(entry);  // reserved: at most one entry per batch row
  }
}

void EngineImpl::FinishChunk(RunningRequest& request) {
  const std::vector<int32_t>& prompt = request.request.prompt;
  const int prompt_tokens = static_cast<int>(prompt.size());
  const int begin = request.prefilled_tokens;
  const int chunk = request.chunk_tokens;
  request.prefilled_tokens += chunk;
  prompt_total_ += chunk;
  const bool echo = request.request.echo_prompt_logprobs;
  if (echo) {
    // Row i predicts the token after begin + i.
    for (int i = 0; i < chunk && begin + i + 1 < prompt_tokens; ++i) {
      const std::span<const float> row(Row(request.chunk_first_row + i), vocab_size_);
      const int next = begin + i + 1;
      request.echo_logprobs[next] = Logprob(row, prompt[next]);
      if (request.request.top_logprobs > 0) {
        TopLogprobs(row, request.request.top_logprobs, request.echo_top[next]);
      }
    }
  }
  request.channel->Push(events::PrefillProgress{.prefill_done = request.prefilled_tokens,
                                                .prefill_total = prompt_tokens});
  if (request.prefilling()) return;

  // The prompt is in: the other choices get a copy of its KV, then everyone samples.
  const Sequence& first = request.sequences[0];
  for (size_t i = 1; i < request.sequences.size(); ++i) {
    kv_->CopySlot(first.slot, request.sequences[i].slot, prompt_tokens);
    slot_table_.Copy(first.slot, request.sequences[i].slot);
  }
  // Each choice masks this row for its own grammar state: at the prompt's end they are equal.
  float* last_row = Row(request.chunk_first_row + (echo ? chunk - 1 : 0));
  if (echo) {
    const std::string text = model_.tokenizer.Decode(prompt);
    for (size_t i = 0; i < request.sequences.size(); ++i) {
      // The last choice takes the prompt-sized buffers; the others get copies.
      const bool last_choice = i + 1 == request.sequences.size();
      events::Delta delta;
      delta.choice = request.sequences[i].choice;
      delta.echo = true;
      delta.text = text;
      delta.tokens = prompt;
      if (last_choice) {
        delta.logprobs = std::move(request.echo_logprobs);
        if (request.request.top_logprobs > 0) delta.top_logprobs = std::move(request.echo_top);
      } else {
        delta.logprobs = request.echo_logprobs;
        if (request.request.top_logprobs > 0) delta.top_logprobs = request.echo_top;
      }
      request.channel->Push(std::move(delta));
    }
  }
  for (Sequence& sequence : request.sequences) {
    if (request.request.max_tokens == 0) {
      FinishSequence(request, sequence, FinishReason::kLength);
    } else {
      Advance(request, sequence, last_row);
    }
  }
}

bool EngineImpl::Constrain(Sequence& sequence, float* logits) const {
  grammar::Matcher& matcher = *sequence.matcher;
  std::vector<uint64_t>& mask = sequence.mask;
  matcher.FillMask(mask);
  if (matcher.CanEnd()) {
    for (const int32_t token : end_of_generation_) {
      if (token / 64 < static_cast<int32_t>(mask.size())) {
        mask[token / 64] |= uint64_t{1} << (token % 64);
      }
    }
  }
  bool any = false;
  constexpr float kForbidden = -std::numeric_limits<float>::infinity();
  for (int word = 0; word < static_cast<int>(mask.size()); ++word) {
    const uint64_t allowed = mask[word];
    any = any || allowed != 0;
    if (allowed == ~uint64_t{0}) continue;
    const int first = word * 64, last = std::min(first + 64, vocab_size_);
    if (allowed == 0) {
      std::fill(logits + first, logits + last, kForbidden);
      continue;
    }
    for (int token = first; token < last; ++token) {
      if (!((allowed >> (token - first)) & 1)) logits[token] = kForbidden;
    }
  }
  return any;
}

// Samples the sequence's next token from `logits` [vocab_size] and streams it, as Generate().
void EngineImpl::Advance(RunningRequest& request, Sequence& sequence, float* logits) {
  const Request& r = request.request;
  const std::span<const float> row(logits, vocab_size_);
  if (sequence.matcher && !Constrain(sequence, logits)) {
    FinishSequence(request, sequence, FinishReason::kStop);
    return;
  }
  // The unified checkpoint tends to emit end-of-media markers it never saw opened (llama.cpp
  // suppresses them too, specs/models.md §3.5).
  for (const int32_t token : {media_tokens_.image_end, media_tokens_.audio_end}) {
    if (token >= 0) logits[token] = -std::numeric_limits<float>::infinity();
  }
  events::Delta delta;
  delta.choice = sequence.choice;
  if (r.top_logprobs > 0) {
    delta.top_logprobs.emplace_back();
    TopLogprobs(row, r.top_logprobs, delta.top_logprobs.back());
  }
  int32_t token = sequence.sampler.Sample(logits);
  if (sequence.matcher && !((sequence.mask[token / 64] >> (token % 64)) & 1)) {
    token = Argmax(row);  // sampling's rounding picked a masked token: take the best allowed
  }
  if (std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), token)) {
    FinishSequence(request, sequence, FinishReason::kStop);
    return;
  }
  if (sequence.matcher) CHECK(sequence.matcher->AcceptToken(token)) << "token " << token;
  ++sequence.generated_tokens;
  ++request.completion_tokens;
  ++generated_total_;
  if (r.logprobs || r.top_logprobs > 0) delta.logprobs.push_back(Logprob(row, token));
  delta.tokens.push_back(token);
  std::vector<ToolCall> calls;
  delta.text = sequence.stops.Push(
      sequence.Content(sequence.detokenizer.Push(token), delta.reasoning, calls));
  request.channel->Push(std::move(delta));
  SendToolCalls(request, sequence, calls);
  if (sequence.completed_tool_calls > 0 && !r.parallel_tool_calls) {
    FinishSequence(request, sequence, FinishReason::kToolCalls);
  } else if (sequence.stops.stopped()) {
    FinishSequence(request, sequence, FinishReason::kStop);
  } else if (sequence.matcher && sequence.matcher->Done()) {
    FinishSequence(request, sequence, FinishReason::kStop);
  } else if (sequence.generated_tokens == r.max_tokens) {
    FinishSequence(request, sequence, FinishReason::kLength);
  } else {
    sequence.next_token = token;
  }
}

void EngineImpl::FinishSequence(RunningRequest& request, Sequence& sequence, FinishReason reason) {
  if (reason != FinishReason::kCancelled) {
    // Text still held back: an incomplete UTF-8 tail, or a possible start of a stop string.
    std::string reasoning;
    std::vector<ToolCall> calls;
    std::string tail = sequence.stops.Push(
        sequence.FinishContent(sequence.detokenizer.Finish(), reasoning, calls));
    if (sequence.stops.stopped()) {
      reason = FinishReason::kStop;
    } else {
      tail += sequence.stops.Finish();
    }
    if (!tail.empty() || !reasoning.empty()) {
      events::Delta delta;
      delta.choice = sequence.choice;
      delta.reasoning = std::move(reasoning);
      delta.text = std::move(tail);
      request.channel->Push(std::move(delta));
    }
    SendToolCalls(request, sequence, calls);
    if (sequence.tool_calls > 0 && reason == FinishReason::kStop) reason = FinishReason::kToolCalls;
  }
  request.channel->Push(events::Finish{.choice = sequence.choice, .reason = reason});
  // The slot keeps its KV for the prefix cache, and is free before Done reaches the client.
  sequence.finished = true;
  slot_table_.Release(sequence.slot);
  ReturnSlots(1);
  if (--request.unfinished == 0) {
    request.channel->Push(
        events::Done{.prompt_tokens = static_cast<int>(request.request.prompt.size()),
                     .completion_tokens = request.completion_tokens,
                     .cached_tokens = request.cached_tokens});
  }
}

void EngineImpl::SendToolCalls(RunningRequest& request, Sequence& sequence,
                               std::vector<ToolCall>& calls) {
  if (!request.request.tool_format) return;  // no tools declared: Harmony's calls are dropped
  for (ToolCall& call : calls) {
    if (call.opens) {
      if (sequence.completed_tool_calls > 0 && !request.request.parallel_tool_calls) break;
      static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
      std::string id = "call_";
      for (int i = 0; i < 24; ++i) id += kDigits[call_ids_() % 36];
      // A strict function's arguments: its grammar holds from the next token on.
      const auto& grammars = request.request.argument_grammars;
      if (const auto it = grammars.find(call.name); it != grammars.end() && !sequence.matcher) {
        sequence.matcher.emplace(it->second, token_index_ ? &*token_index_ : nullptr);
        sequence.mask.resize((vocab_size_ + 63) / 64);
      }
      request.channel->Push(events::ToolCallDelta{.choice = sequence.choice,
                                                  .index = sequence.tool_calls++,
                                                  .id = std::move(id),
                                                  .name = std::move(call.name)});
      sequence.tool_call_open = true;
    }
    if (!sequence.tool_call_open) continue;  // a piece of a call that was not delivered
    if (!call.arguments.empty()) {
      request.channel->Push(events::ToolCallDelta{.choice = sequence.choice,
                                                  .index = sequence.tool_calls - 1,
                                                  .arguments = std::move(call.arguments)});
    }
    if (call.closes) {
      sequence.tool_call_open = false;
      ++sequence.completed_tool_calls;
    }
  }
}

void EngineImpl::Abandon(RunningRequest& request) noexcept {
  int released = 0;
  for (Sequence& sequence : request.sequences) {
    if (sequence.finished || sequence.slot < 0) continue;
    sequence.finished = true;
    slot_table_.Release(sequence.slot);
    ++released;
  }
  request.unfinished = 0;
  ReturnSlots(released);
  request.channel->Abort(static_cast<int>(request.request.prompt.size()), request.completion_tokens,
                         request.cached_tokens);
}

}  // namespace snug
