#include "server/jobs/job.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace actserve::server {

Job::Job(std::string id, std::string sweep_id, JobRequest request, std::string owner,
         std::string request_id)
    : id_(std::move(id)),
      sweep_id_(std::move(sweep_id)),
      name_(std::move(request.name)),
      description_(std::move(request.description)),
      owner_(std::move(owner)),
      request_id_(std::move(request_id)),
      create_time_(absl::Now()) {
  absl::MutexLock lock(&mu_);
  JobInput& input = request.input;
  train_spec_ = input.spec;
  memory_bytes_ =
      static_cast<int64_t>(train::EstimateJobBytes(input.spec, input.train, input.validation));
  input_ = std::make_unique<JobInput>(std::move(input));
}

Job::Job(const JobRecord& r)
    : id_(r.id),
      sweep_id_(r.sweep_id),
      name_(r.name),
      description_(r.description),
      owner_(r.owner),
      request_id_(r.request_id),
      create_time_(r.create_time) {
  absl::MutexLock lock(&mu_);
  state_ = r.state;
  start_time_ = r.start_time;
  end_time_ = r.end_time;
  error_ = r.error;
  resumed_ = r.resumed;
  checkpoint_ = r.checkpoint;
  checkpoint_step_ = r.checkpoint_step;
}

JobRecord Job::Record() const {
  return {.id = id_,
          .sweep_id = sweep_id_,
          .name = name_,
          .description = description_,
          .owner = owner_,
          .request_id = request_id_,
          .state = state_,
          .create_time = create_time_,
          .start_time = start_time_,
          .end_time = end_time_,
          .resumed = resumed_,
          .error = error_,
          .checkpoint = checkpoint_,
          .checkpoint_step = checkpoint_step_};
}

JobView Job::View(bool include_weights) const {
  JobView view;
  view.id = id_;
  view.owner = owner_;
  view.name = name_;
  view.sweep_id = sweep_id_;
  view.description = description_;
  view.create_time = create_time_;
  absl::MutexLock lock(&mu_);
  view.state = state_;
  view.resumed = resumed_;
  view.start_time = start_time_;
  view.end_time = end_time_;
  view.reports = static_cast<int64_t>(reports_.size());
  if (!reports_.empty()) view.last_progress = reports_.back();
  view.result = result_;
  view.error = error_;
  view.memory_bytes = memory_bytes_;
  if (include_weights) {
    view.spec = train_spec_;
    view.weights = weights_;
  }
  return view;
}

Job::Update Job::ReadUpdate(int64_t index, train::Progress* report, JobView* view) const {
  {
    absl::MutexLock lock(&mu_);
    if (index < static_cast<int64_t>(reports_.size())) {
      *report = reports_[index];
      return Update::kReport;
    }
    if (!Ended(state_)) return Update::kNone;
  }
  *view = View(/*include_weights=*/false);
  return Update::kEnded;
}

bool Job::ended() const {
  absl::MutexLock lock(&mu_);
  return Ended(state_);
}

void Job::Subscribe(JobListener* listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.push_back(listener);
}

void Job::Unsubscribe(JobListener* listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener), listeners_.end());
}

void Job::WhenEnded(std::function<void()> callback) {
  {
    // Under listeners_mu_, which Notify holds while it checks: a callback is either run here or
    // by the Notify that follows the end, never both or neither.
    absl::MutexLock lock(&listeners_mu_);
    if (!ended()) {
      when_ended_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

void Job::Notify() {
  std::vector<std::function<void()>> ended_callbacks;
  {
    // Holding the lock while calling keeps Unsubscribe from returning mid-call.
    absl::MutexLock lock(&listeners_mu_);
    for (JobListener* l : listeners_) l->OnJobUpdate();
    if (ended()) ended_callbacks.swap(when_ended_);
  }
  for (auto& callback : ended_callbacks) callback();
}

}  // namespace actserve::server
