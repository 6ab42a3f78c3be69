// cuBLAS opens at run time without a GPU (the library needs no driver until a handle is made),
// and opening it leaves small-stack threads startable: the reason it is not linked.
#include "kernels/cuda/cublas_library.h"

#include <pthread.h>

#include "gtest/gtest.h"

namespace actserve::cuda {
namespace {

TEST(CublasLibraryTest, OpensAndResolvesEveryEntryPoint) {
  absl::StatusOr<const CublasLibrary*> lib = LoadCublas();
  ASSERT_TRUE(lib.ok()) << lib.status();
  EXPECT_NE((*lib)->sgemm, nullptr);
  EXPECT_STREQ((*lib)->status_name(CUBLAS_STATUS_ALLOC_FAILED), "CUBLAS_STATUS_ALLOC_FAILED");
  EXPECT_EQ(*LoadCublas(), *lib);  // opened once
}

TEST(CublasLibraryTest, SmallStackThreadsStillStartOnceItIsOpen) {
  ASSERT_TRUE(LoadCublas().ok());
  // civetweb's worker threads use stacks about this small; linked, cuBLAS's TLS did not fit.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
  pthread_t thread;
  const int rc = pthread_create(
      &thread, &attr, [](void*) -> void* { return nullptr; }, nullptr);
  pthread_attr_destroy(&attr);
  ASSERT_EQ(rc, 0) << "pthread_create with a 64 KiB stack failed";
  pthread_join(thread, nullptr);
}

}  // namespace
}  // namespace actserve::cuda
