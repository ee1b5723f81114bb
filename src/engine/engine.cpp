#include "engine/engine.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "base/logging.h"
#include "engine/logits_processor.h"
#include "engine/scheduler.h"
#include "engine/spec/drafter.h"
#include "engine/spec/verify.h"
#include "kv/kv_cache_manager.h"

namespace fathom::engine {
namespace {

double seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

struct Engine::Impl {
  Impl(std::unique_ptr<model::Model> m, EngineConfig c, const Clock& clk,
       runtime::KvStorage storage)
      : model(std::move(m)),
        cfg(c),
        clock(clk),
        kv_storage(std::move(storage)),
        kv(kv_storage.num_blocks(), kv_storage.block_size(), c.enable_prefix_caching),
        scheduler({c.max_num_batched_tokens, c.max_num_seqs}, kv),
        ttft(Histogram::latency_buckets()),
        itl(Histogram::latency_buckets()),
        e2e(Histogram::latency_buckets()),
        queue_time(Histogram::latency_buckets()) {}

  void loop();
  void step(const SchedulerOutput& out);
  /// Drafts for the sequences of the step that decode next (speculative decoding).
  void propose_drafts(const spec::StepRecord& record);
  /// Sends the request's last update (u.finish set) and frees everything it held.
  void finish(Sequence* s, RequestUpdate u);
  void abort(Sequence* s, FinishReason reason, Status error = {}) {
    RequestUpdate u;
    u.finish = reason;
    u.error = std::move(error);
    finish(s, std::move(u));
  }
  void publish_gauges();  // under mu
  void maybe_log_profile();
  model::StepProfile profile_logged;  // the profile when it was last logged
  Clock::TimePoint profile_logged_at{};

  std::unique_ptr<model::Model> model;
  EngineConfig cfg;
  const Clock& clock;
  runtime::KvStorage kv_storage;
  kv::KvCacheManager kv;
  Scheduler scheduler;                     // touched by the loop thread only
  std::unique_ptr<spec::Drafter> drafter;  // null: speculation off

  // Shared with client threads.
  mutable std::mutex mu;
  std::condition_variable work_cv, idle_cv;
  std::vector<std::unique_ptr<Sequence>> inbox;
  std::unordered_set<std::string> live_ids;  // submitted and not yet finished
  std::unordered_set<std::string> cancelled;
  bool stopping = false;
  bool draining = false;
  EngineStats counters;  // gauges refreshed each step
  Histogram ttft, itl, e2e, queue_time;
  std::thread thread;
};

Result<std::unique_ptr<Engine>> Engine::create(std::unique_ptr<model::Model> model,
                                               EngineConfig cfg, const Clock& clock) {
  if (cfg.block_size <= 0 || cfg.max_num_batched_tokens <= 0 || cfg.max_num_seqs <= 0 ||
      cfg.max_waiting < 0)
    return invalid_argument(
        "engine config: block size, token budget and max sequences must be positive");
  const runtime::KvLayout layout = model->kv_layout();
  const kernels::KvDtype kv_dtype =
      cfg.kv_cache_dtype.value_or(model::auto_kv_cache_dtype(model->config()));
  const int64_t block_bytes = runtime::kv_bytes_per_token(layout, kv_dtype) * cfg.block_size;
  int32_t num_blocks = cfg.num_kv_blocks;
  if (cfg.max_model_len <= 0) cfg.max_model_len = model->config().max_position_embeddings;
  cfg.max_model_len = std::min<int64_t>(cfg.max_model_len, model->config().max_position_embeddings);
  if (num_blocks <= 0) {
    // The byte budget, but no more than max_num_seqs sequences of full length can use.
    const int64_t useful = static_cast<int64_t>(cfg.max_num_seqs) *
                           ((cfg.max_model_len + cfg.block_size - 1) / cfg.block_size);
    num_blocks =
        static_cast<int32_t>(std::clamp<int64_t>(cfg.kv_cache_bytes / block_bytes, 1, useful));
  }
  FATHOM_RETURN_IF_ERROR(spec::validate(cfg.spec));
  FATHOM_ASSIGN_OR_RETURN(
      auto storage, runtime::KvStorage::allocate(layout, num_blocks, cfg.block_size, kv_dtype));
  FATHOM_LOG(kInfo) << "KV cache: " << num_blocks << " blocks x " << cfg.block_size << " tokens ("
                    << storage.size_bytes() / (1 << 20) << " MiB, " << storage.size_bytes()
                    << " bytes), max model len " << cfg.max_model_len << ", dtype "
                    << model::kv_cache_dtype_name(kv_dtype);
  std::unique_ptr<Engine> e(new Engine());
  e->impl_ = std::make_unique<Impl>(std::move(model), cfg, clock, std::move(storage));
  Impl* impl = e->impl_.get();
  if (cfg.spec.enabled()) {
    FATHOM_ASSIGN_OR_RETURN(impl->drafter, spec::make_drafter(cfg.spec, *impl->model, impl->kv));
    FATHOM_LOG(kInfo) << "speculative decoding: " << spec::spec_method_name(cfg.spec.method) << ", "
                      << cfg.spec.num_speculative_tokens << " draft tokens per step";
  }
  impl->profile_logged_at = clock.now();
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    impl->publish_gauges();
  }
  impl->thread = std::thread([impl] { impl->loop(); });
  return e;
}

Engine::~Engine() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->work_cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();  // not started when create() failed
}

Status Engine::submit(EngineRequest req, UpdateCallback on_update) {
  Impl& m = *impl_;
  const int64_t vocab = m.model->config().vocab_size;
  if (req.prompt_ids.empty()) return invalid_argument("the prompt is empty");
  for (int32_t t : req.prompt_ids)
    if (t < 0 || t >= vocab)
      return invalid_argument("prompt token id " + std::to_string(t) +
                              " is outside the vocabulary of " + std::to_string(vocab));
  FATHOM_RETURN_IF_ERROR(validate(req.params, vocab));
  if (req.lora && req.lora->targets_fingerprint != m.model->lora_targets().fingerprint())
    return invalid_argument("LoRA adapter '" + req.lora->name + "' was loaded for another model");
  const int64_t prompt = static_cast<int64_t>(req.prompt_ids.size());
  const int64_t total = prompt + req.params.max_tokens;
  if (total > m.cfg.max_model_len)
    return invalid_argument(
        "This model's maximum context length is " + std::to_string(m.cfg.max_model_len) +
        " tokens. However, you requested " + std::to_string(total) + " tokens (" +
        std::to_string(prompt) + " in the prompt, " + std::to_string(req.params.max_tokens) +
        " in the completion). Please reduce the length of the prompt or completion.");
  const int64_t capacity = static_cast<int64_t>(m.kv.num_blocks()) * m.kv.block_size();
  if (total > capacity)
    return invalid_argument("the request needs " + std::to_string(total) +
                            " tokens of KV cache but the cache holds " + std::to_string(capacity) +
                            "; reduce max_tokens or the prompt");
  std::lock_guard<std::mutex> lock(m.mu);
  if (m.draining || m.stopping) return unavailable("the server is shutting down");
  if (m.live_ids.count(req.request_id))
    return invalid_argument("duplicate request id " + req.request_id);
  const int64_t queued = static_cast<int64_t>(m.inbox.size()) + m.counters.num_waiting;
  if (queued >= m.cfg.max_waiting)
    return resource_exhausted("the server is busy: " + std::to_string(queued) +
                              " requests are waiting; retry later");
  m.live_ids.insert(req.request_id);
  m.inbox.push_back(
      std::make_unique<Sequence>(std::move(req), std::move(on_update), m.clock.now()));
  m.work_cv.notify_one();
  return ok_status();
}

void Engine::cancel(const std::string& request_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->live_ids.count(request_id)) return;
  impl_->cancelled.insert(request_id);
  impl_->work_cv.notify_one();
}

void Engine::drain() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->draining = true;
  impl_->idle_cv.wait(lock, [&] { return impl_->live_ids.empty(); });
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EngineStats s = impl_->counters;
  s.time_to_first_token_s = impl_->ttft.snapshot();
  s.inter_token_latency_s = impl_->itl.snapshot();
  s.e2e_latency_s = impl_->e2e.snapshot();
  s.queue_time_s = impl_->queue_time.snapshot();
  return s;
}

const model::ModelConfig& Engine::model_config() const { return impl_->model->config(); }
const model::lora::TargetTable& Engine::lora_targets() const {
  return impl_->model->lora_targets();
}
int64_t Engine::max_model_len() const { return impl_->cfg.max_model_len; }

void Engine::Impl::publish_gauges() {
  counters.num_running = scheduler.num_running();
  counters.num_waiting = scheduler.num_waiting() + static_cast<int64_t>(inbox.size());
  counters.num_kv_blocks = kv.num_blocks();
  counters.num_free_kv_blocks = kv.num_free();
  counters.kv_cache_usage = 1.0 - static_cast<double>(kv.num_free()) / kv.num_blocks();
  counters.prefix_cache_queries = kv.prefix_queries();
  counters.prefix_cache_hits = kv.prefix_hits();
  counters.step_profile = model->profile();
  // LoRA adapters of running and waiting requests (vllm:lora_requests_info).
  const std::vector<Sequence*> seqs = scheduler.all();  // running first
  std::set<std::string> running, waiting;
  for (size_t i = 0; i < seqs.size(); ++i)
    if (seqs[i]->req.lora)
      (static_cast<int64_t>(i) < counters.num_running ? running : waiting)
          .insert(seqs[i]->req.lora->name);
  for (const auto& s : inbox)
    if (s->req.lora) waiting.insert(s->req.lora->name);
  counters.running_lora_adapters.assign(running.begin(), running.end());
  counters.waiting_lora_adapters.assign(waiting.begin(), waiting.end());
}

void Engine::Impl::maybe_log_profile() {
  if (cfg.profile_log_interval_s <= 0) return;
  const Clock::TimePoint now = clock.now();
  if (seconds(now - profile_logged_at) < cfg.profile_log_interval_s) return;
  const model::StepProfile p = model->profile();
  const model::StepProfile window = model::profile_since(p, profile_logged);
  if (window.forwards > 0)
    FATHOM_LOG(kInfo) << "profile: " << window.forwards << " steps, " << window.tokens
                      << " tokens, " << static_cast<double>(window.forward_ns) / 1e6
                      << " ms in forward: " << model::profile_summary(window);
  profile_logged = p;
  profile_logged_at = now;
}

void Engine::Impl::loop() {
  for (;;) {
    std::vector<std::unique_ptr<Sequence>> arrived;
    std::unordered_set<std::string> to_cancel;
    {
      std::unique_lock<std::mutex> lock(mu);
      work_cv.wait(lock, [&] {
        return stopping || !inbox.empty() || !cancelled.empty() || !scheduler.idle();
      });
      if (stopping) break;
      arrived.swap(inbox);
      to_cancel.swap(cancelled);
    }
    for (auto& s : arrived) scheduler.add(std::move(s));
    for (const auto& id : to_cancel)
      if (Sequence* s = scheduler.find(id)) abort(s, FinishReason::kAbort);

    const SchedulerOutput out = scheduler.schedule();
    if (!out.empty()) step(out);
    maybe_log_profile();
    std::lock_guard<std::mutex> lock(mu);
    counters.num_preemptions += out.num_preempted;
    publish_gauges();
  }
  // Shutting down: abort whatever is left so every caller hears the end.
  for (Sequence* s : scheduler.all()) abort(s, FinishReason::kAbort);
}

void Engine::Impl::step(const SchedulerOutput& out) {
  model::ForwardBatch b;
  b.want_hidden = drafter && drafter->needs_hidden_states();
  std::vector<int64_t> output_of(out.scheduled.size(), -1);  // first output row of sequence i
  std::vector<int64_t> first_row(out.scheduled.size());
  const Clock::TimePoint start = clock.now();
  for (size_t i = 0; i < out.scheduled.size(); ++i) {
    const ScheduledSeq& x = out.scheduled[i];
    Sequence* s = x.seq;
    if (!s->queue_time_recorded) {
      queue_time.observe(seconds(start - s->arrival));
      s->queue_time_recorded = true;
    }
    first_row[i] = b.num_tokens();
    for (int64_t k = 0; k < x.num_new_tokens; ++k) {
      const int64_t pos = s->num_computed + k;
      b.token_ids.push_back(pos < s->num_tokens() ? s->tokens[pos]
                                                  : s->draft[pos - s->num_tokens()]);
      b.positions.push_back(static_cast<int32_t>(pos));
      b.seq_idx.push_back(static_cast<int32_t>(i));
    }
    b.block_tables.push_back(s->blocks.table);
    b.seq_lora.push_back(s->req.lora.get());
    if (s->num_computed + x.num_new_tokens == s->num_tokens_with_draft()) {
      // Logits for the last token and for each draft token (the scheduler fitted the draft).
      output_of[i] = static_cast<int64_t>(b.output_rows.size());
      const auto n = static_cast<int32_t>(b.token_ids.size());
      for (int32_t r = n - 1 - static_cast<int32_t>(s->draft.size()); r < n; ++r)
        b.output_rows.push_back(r);
    }
  }
  std::vector<float> logits;
  const Status st = model->forward(b, kv_storage, logits);
  if (!st.ok()) {
    FATHOM_LOG(kError) << "forward failed: " << st.to_string();
    for (const auto& x : out.scheduled) abort(x.seq, FinishReason::kError, st);
    return;
  }
  const int64_t vocab = model->config().vocab_size;
  const Clock::TimePoint now = clock.now();
  int64_t prompt_tokens = 0, generated = 0;
  spec::StepRecord record;
  record.hidden = b.want_hidden ? &model->last_hidden() : nullptr;
  spec::SpecStats spec_step;
  for (size_t i = 0; i < out.scheduled.size(); ++i) {
    Sequence* s = out.scheduled[i].seq;
    const int64_t before = s->num_computed;
    const std::vector<int32_t> draft = std::move(s->draft);
    s->draft.clear();
    const auto num_draft = static_cast<int64_t>(draft.size());
    s->num_computed += out.scheduled[i].num_new_tokens - num_draft;  // drafts count once accepted
    prompt_tokens += std::max<int64_t>(0, std::min(s->num_computed, s->num_prompt_tokens) -
                                              std::max(before, s->num_cached_prompt));
    kv.commit(s->blocks, s->tokens, s->num_computed);
    if (output_of[i] < 0) {
      record.seqs.push_back({s, before, first_row[i]});
      continue;
    }

    // One row per position: the token after the last one, then after each accepted draft.
    const RequestParams& p = s->req.params;
    const bool first_output = s->num_generated() == 0;
    RequestUpdate u;
    bool finished = false, aborted = false;
    int64_t accepted = 0;
    for (int64_t j = 0; j <= num_draft; ++j) {
      float* row = logits.data() + (output_of[i] + j) * vocab;
      apply_penalties(p, s->tokens, s->num_prompt_tokens, row, vocab);
      if (s->matcher && !apply_constraint(*s->matcher, row, vocab)) {
        abort(s, FinishReason::kError,
              internal_error("no token of the vocabulary can continue the structured output"));
        aborted = true;
        break;
      }
      spec::DraftVerdict v{};
      if (j < num_draft) {
        v = spec::verify_draft(row, vocab, p.sampling, draft[j], nullptr, s->sampler);
      } else {
        v.token = s->sampler.sample(row, vocab, p.sampling);
      }
      const int32_t token = v.token;
      const bool grammar_done =
          s->matcher && (!s->matcher->accept_token(token) || s->matcher->must_end() ||
                         p.constraint->vocab->is_end(token));
      u.tokens.push_back(p.top_logprobs >= 0 ? make_logprobs(row, vocab, token, p.top_logprobs)
                                             : GeneratedToken{token, 0.0f, {}});
      s->tokens.push_back(token);
      ++generated;
      const auto& eos = model->config().eos_token_ids;
      const bool stop = grammar_done ||
                        std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), token) !=
                            p.stop_token_ids.end() ||
                        (!p.ignore_eos && std::find(eos.begin(), eos.end(), token) != eos.end());
      const bool length =
          s->num_generated() >= p.max_tokens || s->num_tokens() >= cfg.max_model_len;
      if (v.accepted) {
        ++accepted;
        ++s->num_computed;  // the draft's KV at this position was computed from this token
        kv.commit(s->blocks, s->tokens, s->num_computed);
      }
      if (stop || length) {
        u.finish = stop ? FinishReason::kStop : FinishReason::kLength;
        finished = true;
        break;
      }
      if (!v.accepted) break;
    }
    if (num_draft > 0) spec_step.record(num_draft, accepted);
    if (aborted) continue;
    if (first_output) {
      s->first_token_time = now;
      ttft.observe(seconds(now - s->arrival));
    } else {
      itl.observe(seconds(now - s->last_token_time));
    }
    s->last_token_time = now;
    if (finished) {
      finish(s, std::move(u));
      continue;
    }
    kv.truncate(s->blocks, s->num_tokens());  // the rejected drafts' cache slots
    u.prompt_tokens = s->num_prompt_tokens;
    u.completion_tokens = s->num_generated();
    u.cached_prompt_tokens = s->num_cached_prompt;
    s->on_update(std::move(u));
    record.seqs.push_back({s, before, first_row[i]});
  }
  if (drafter) propose_drafts(record);
  std::lock_guard<std::mutex> lock(mu);
  counters.prompt_tokens_total += prompt_tokens;
  counters.generation_tokens_total += generated;
  counters.spec.add(spec_step);
}

void Engine::Impl::propose_drafts(const spec::StepRecord& record) {
  std::vector<spec::DraftTarget> targets;
  for (const spec::StepSeq& x : record.seqs) {
    const Sequence* s = x.seq;
    // Only sequences that decode next step; structured output advances a grammar matcher
    // token by token, which verification cannot roll back, so it is never speculated.
    if (s->num_computed != s->num_tokens() - 1 || s->matcher) continue;
    // Room for the drafts plus the token after them within max_tokens and the model length.
    const int64_t room = std::min(s->req.params.max_tokens - s->num_generated(),
                                  cfg.max_model_len - s->num_tokens()) -
                         1;
    const auto k = static_cast<int32_t>(std::min<int64_t>(cfg.spec.num_speculative_tokens, room));
    if (k > 0) targets.push_back({x.seq, k});
  }
  drafter->propose(record, targets);
}

void Engine::Impl::finish(Sequence* s, RequestUpdate u) {
  std::unique_ptr<Sequence> done = scheduler.remove(s);
  if (!done) return;
  u.prompt_tokens = done->num_prompt_tokens;
  u.completion_tokens = done->num_generated();
  u.cached_prompt_tokens = done->num_cached_prompt;
  e2e.observe(seconds(clock.now() - done->arrival));
  {
    // Counters first, so that whoever hears the last update sees them.
    std::lock_guard<std::mutex> lock(mu);
    ++counters.requests_finished[finish_reason_name(u.finish)];
    publish_gauges();
  }
  // The adapter is released before the owner hears the end, so a request made after this one
  // finished never finds it still held (the LoRA cache evicts only adapters no request holds).
  done->req.lora.reset();
  done->on_update(std::move(u));
  std::lock_guard<std::mutex> lock(mu);
  live_ids.erase(done->req.request_id);
  if (live_ids.empty()) idle_cv.notify_all();
}

}  // namespace fathom::engine
