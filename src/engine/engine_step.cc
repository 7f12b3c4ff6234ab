// One step of the engine's loop: the Batch (one decode token per running sequence, prefill
// chunks in what is left of batch_tokens), one Forward, then each sequence's logits turned into
// tokens, text and Events. Every buffer is sized at start: what a step allocates is the events
// it sends, and running out of memory there ends only the request concerned.
#include <algorithm>
#include <span>
#include <string>

#include "base/check.h"
#include "engine/engine_impl.h"

namespace snug {

bool EngineImpl::Step() {
  tokens_.clear();
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
  // (b) Prefill chunks in what is left, oldest request first.
  int budget = options_.batch_tokens - decode_tokens;
  for (auto& request : running_) {
    if (!request->prefilling() || budget <= 0) continue;
    const int prompt_tokens = static_cast<int>(request->request.prompt.size());
    const bool echo = request->request.echo_prompt_logprobs;
    int chunk = std::min(budget, prompt_tokens - request->prefilled_tokens);
    // Echo needs every prompt row's logits; the logits buffer bounds the chunk instead.
    if (echo) chunk = std::min(chunk, logit_rows_ - static_cast<int>(logit_indices_.size()));
    if (chunk <= 0) continue;
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
    budget -= chunk;
  }
  if (tokens_.empty()) return false;
  CHECK_LE(static_cast<int>(logit_indices_.size()), logit_rows_);

  const Batch batch{tokens_, positions_, batch_slots_, logit_indices_};
  model_.model->Forward(batch, *kv_, logits_.data());
  window_decode_ += decode_tokens;
  window_prefill_ += static_cast<int64_t>(tokens_.size()) - decode_tokens;

  // The KV now holds the batch's rows: record them (lengths, the prefix cache's token ids)
  // before anything that may fail for one request.
  for (auto& request : running_) {
    if (request->chunk_tokens > 0) {
      const int slot = request->sequences[0].slot;
      const int begin = request->prefilled_tokens;
      kv_->set_length(slot, begin + request->chunk_tokens);
      slot_table_.Append(
          slot,
          std::span<const int32_t>(request->request.prompt).subspan(begin, request->chunk_tokens));
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
  Event progress;
  progress.kind = Event::Kind::kPrefillProgress;
  progress.prefill_done = request.prefilled_tokens;
  progress.prefill_total = prompt_tokens;
  request.channel->Push(std::move(progress));
  if (request.prefilling()) return;

  // The prompt is in: the other choices get a copy of its KV, then everyone samples.
  const Sequence& first = request.sequences[0];
  for (size_t i = 1; i < request.sequences.size(); ++i) {
    kv_->CopySlot(first.slot, request.sequences[i].slot, prompt_tokens);
    slot_table_.Copy(first.slot, request.sequences[i].slot);
  }
  const float* last_row = Row(request.chunk_first_row + (echo ? chunk - 1 : 0));
  if (echo) {
    const std::string text = model_.tokenizer.Decode(prompt);
    for (size_t i = 0; i < request.sequences.size(); ++i) {
      // The last choice takes the prompt-sized buffers; the others get copies.
      const bool last_choice = i + 1 == request.sequences.size();
      Event delta;
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

// Samples the sequence's next token from `logits` [vocab_size] and streams it, as Generate().
void EngineImpl::Advance(RunningRequest& request, Sequence& sequence, const float* logits) {
  const Request& r = request.request;
  const std::span<const float> row(logits, vocab_size_);
  Event delta;
  delta.choice = sequence.choice;
  if (r.top_logprobs > 0) {
    delta.top_logprobs.emplace_back();
    TopLogprobs(row, r.top_logprobs, delta.top_logprobs.back());
  }
  const int32_t token = sequence.sampler.Sample(logits);
  if (std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), token)) {
    FinishSequence(request, sequence, FinishReason::kStop);
    return;
  }
  ++sequence.generated_tokens;
  ++request.completion_tokens;
  ++generated_total_;
  if (r.logprobs || r.top_logprobs > 0) delta.logprobs.push_back(Logprob(row, token));
  delta.tokens.push_back(token);
  delta.text =
      sequence.stops.Push(sequence.Content(sequence.detokenizer.Push(token), delta.reasoning));
  request.channel->Push(std::move(delta));
  if (sequence.stops.stopped()) {
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
    std::string tail =
        sequence.stops.Push(sequence.FinishContent(sequence.detokenizer.Finish(), reasoning));
    if (sequence.stops.stopped()) {
      reason = FinishReason::kStop;
    } else {
      tail += sequence.stops.Finish();
    }
    if (!tail.empty() || !reasoning.empty()) {
      Event delta;
      delta.choice = sequence.choice;
      delta.reasoning = std::move(reasoning);
      delta.text = std::move(tail);
      request.channel->Push(std::move(delta));
    }
  }
  Event finish;
  finish.kind = Event::Kind::kFinish;
  finish.choice = sequence.choice;
  finish.finish = reason;
  request.channel->Push(std::move(finish));
  // The slot keeps its KV for the prefix cache, and is free before kDone reaches the client.
  sequence.finished = true;
  slot_table_.Release(sequence.slot);
  ReturnSlots(1);
  if (--request.unfinished == 0) {
    Event done;
    done.kind = Event::Kind::kDone;
    done.prompt_tokens = static_cast<int>(request.request.prompt.size());
    done.completion_tokens = request.completion_tokens;
    done.cached_tokens = request.cached_tokens;
    request.channel->Push(std::move(done));
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
