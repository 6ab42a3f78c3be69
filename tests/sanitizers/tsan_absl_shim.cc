// LD_PRELOAD shim for the TSan stage: Debian's Abseil is a prebuilt, uninstrumented library, so
// ThreadSanitizer cannot see that absl::Mutex, absl::CondVar and absl::Notification order memory,
// and reports every access they guard as a race. This shim interposes their out-of-line members,
// forwards to the real ones (dlsym RTLD_NEXT) and tells TSan what each one means: an acquire
// after locking or waking, a release before unlocking, waiting or notifying. It declares the TSan
// hooks weak so that uninstrumented processes (ctest, the shell) load it harmlessly.
//
// Built and preloaded by sanitized_build.sh; never part of the product.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

extern "C" void __tsan_acquire(void* addr) __attribute__((weak));
extern "C" void __tsan_release(void* addr) __attribute__((weak));

namespace {

#define ACTSERVE_STR2(x) #x
#define ACTSERVE_STR(x) ACTSERVE_STR2(x)

// "_ZN4absl7debian3" + rest (_ZNK for a const member): the mangled name of a member of Abseil's
// inline namespace.
template <typename F>
F Real(const char* rest, bool const_member = false) {
  const std::string ns = ACTSERVE_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string name =
      std::string(const_member ? "_ZNK4absl" : "_ZN4absl") + std::to_string(ns.size()) + ns + rest;
  void* f = dlsym(RTLD_NEXT, name.c_str());
  if (f == nullptr) {
    std::fprintf(stderr, "tsan_absl_shim: %s not found\n", name.c_str());
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

void Acquire(const void* p) {
  if (__tsan_acquire) __tsan_acquire(const_cast<void*>(p));
}
void Release(const void* p) {
  if (__tsan_release) __tsan_release(const_cast<void*>(p));
}

// A Condition is evaluated inside Abseil with the mutex held, by the waiting thread or by the
// thread that unlocks: its reads happen between an acquire and a release of the mutex that TSan
// cannot see. The shim passes Abseil a Condition that evaluates the caller's between the two.
struct Guarded {
  const absl::Condition* cond;
  const absl::Mutex* mu;
};
bool EvalGuarded(Guarded* g) {
  Acquire(g->mu);
  bool met = g->cond->Eval();
  Release(g->mu);
  return met;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex4LockEv");
  real(this);
  Acquire(this);
}
void Mutex::ReaderLock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex10ReaderLockEv");
  real(this);
  Acquire(this);
}
bool Mutex::TryLock() {
  static auto real = Real<bool (*)(Mutex*)>("5Mutex7TryLockEv");
  bool locked = real(this);
  if (locked) Acquire(this);
  return locked;
}
void Mutex::Unlock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex6UnlockEv");
  Release(this);
  real(this);
}
void Mutex::ReaderUnlock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex12ReaderUnlockEv");
  Release(this);
  real(this);
}
void Mutex::LockWhen(const Condition& cond) {
  static auto real = Real<void (*)(Mutex*, const Condition&)>("5Mutex8LockWhenERKNS0_9ConditionE");
  Guarded g{&cond, this};
  real(this, absl::Condition(&EvalGuarded, &g));
  Acquire(this);
}
void Mutex::ReaderLockWhen(const Condition& cond) {
  static auto real =
      Real<void (*)(Mutex*, const Condition&)>("5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Guarded g{&cond, this};
  real(this, absl::Condition(&EvalGuarded, &g));
  Acquire(this);
}
bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Guarded g{&cond, this};
  bool met = real(this, absl::Condition(&EvalGuarded, &g), timeout);
  Acquire(this);
  return met;
}
bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Guarded g{&cond, this};
  bool met = real(this, absl::Condition(&EvalGuarded, &g), deadline);
  Acquire(this);
  return met;
}
void Mutex::Await(const Condition& cond) {
  static auto real = Real<void (*)(Mutex*, const Condition&)>("5Mutex5AwaitERKNS0_9ConditionE");
  Release(this);
  Guarded g{&cond, this};
  real(this, absl::Condition(&EvalGuarded, &g));
  Acquire(this);
}
bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Release(this);
  Guarded g{&cond, this};
  bool met = real(this, absl::Condition(&EvalGuarded, &g), timeout);
  Acquire(this);
  return met;
}
bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, Time)>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Release(this);
  Guarded g{&cond, this};
  bool met = real(this, absl::Condition(&EvalGuarded, &g), deadline);
  Acquire(this);
  return met;
}
void CondVar::Wait(Mutex* mu) {
  static auto real = Real<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  Release(mu);
  real(this, mu);
  Acquire(mu);
}
bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Release(mu);
  bool timed_out = real(this, mu, timeout);
  Acquire(mu);
  return timed_out;
}
bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static auto real =
      Real<bool (*)(CondVar*, Mutex*, Time)>("7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Release(mu);
  bool timed_out = real(this, mu, deadline);
  Acquire(mu);
  return timed_out;
}
void Notification::Notify() {
  static auto real = Real<void (*)(Notification*)>("12Notification6NotifyEv");
  Release(this);
  real(this);
}
void Notification::WaitForNotification() const {
  static auto real =
      Real<void (*)(const Notification*)>("12Notification19WaitForNotificationEv", true);
  real(this);
  Acquire(this);
}

ABSL_NAMESPACE_END
}  // namespace absl
