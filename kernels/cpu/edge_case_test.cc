// The catalog's edge cases (kernels/README.md, "Numerical contract"), on the CPU backend, for
// every catalog entry and every special value of its parameters that the catalog allows:
//
// - an infinite input gives the limit of f, f' and df/dparam as x tends to it, and NaN where
//   there is none. The limit is found independently of the definition: by evaluating at ever
//   larger finite inputs (where the values settle, that is the limit; where they do not, there
//   is none);
// - a learnable parameter's fp32 gradient does not overflow where the exact one fits a double;
// - last-axis functions follow the rules for infinities in a row (a limit where the entries'
//   infinities may grow at any rates and the row still converges; NaN in the whole row where
//   the rates matter), and log_softmax is the log of softmax.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"

namespace actserve {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using Overrides = std::vector<std::pair<std::string, std::vector<double>>>;

// Every parameter setting to check: the defaults, and each parameter at each of 0, its min and
// its max that the catalog accepts (the others at their defaults).
std::vector<Overrides> ParamSettings(const ActivationInfo& info) {
  std::vector<Overrides> out = {{}};
  for (int k = 0; k < info.num_params(); ++k) {
    const ParamSpec& p = info.params[k];
    for (double v : {0.0, p.min, p.max}) {
      if (v == p.default_value || !std::isfinite(v)) continue;
      Overrides o = {{p.name, {v}}};
      if (PrepareCall({.activation = info.name, .shape = {1}, .params = o}).ok()) {
        out.push_back(o);
      }
    }
  }
  return out;
}

std::string Describe(const ActivationInfo& info, const Overrides& o) {
  std::string s = info.name;
  for (const auto& [name, v] : o) absl::StrAppend(&s, " ", name, "=", v[0]);
  return s;
}

// f, f' (dy = 1) and df/dparam of one element x, with the same noise sample for every x.
struct Point {
  double y, dx, grad;
};

template <class T>
Point Evaluate(Backend& backend, const ActivationInfo& info, const Overrides& o, T x) {
  auto call = PrepareCall(
      {.activation = info.name, .shape = {1}, .params = o, .seed = 3, .training = true});
  EXPECT_TRUE(call.ok()) << call.status();
  T in[1] = {x}, dy[1] = {T(1)}, y[1], dx[1];
  ParamGradients g;
  EXPECT_TRUE(backend.Forward(*call, absl::MakeConstSpan(in), absl::MakeSpan(y)).ok());
  EXPECT_TRUE(
      backend
          .Backward(*call, absl::MakeConstSpan(in), absl::MakeConstSpan(dy), absl::MakeSpan(dx), &g)
          .ok());
  const int k = LearnableParam(info);
  return {static_cast<double>(y[0]), static_cast<double>(dx[0]), k < 0 ? 0.0 : g.values[k][0]};
}

// What a sequence of values at growing |x| says about the limit: +-inf, a value, or none.
struct Limit {
  bool exists;
  double value;
};

Limit LimitOf(const std::vector<double>& v) {
  const double last = v.back();
  if (std::isnan(last)) return {false, 0};
  if (std::fabs(last) > 1e30) {
    // Diverging: one sign throughout, growing in magnitude.
    for (size_t i = 0; i < v.size(); ++i) {
      if (!(v[i] * last > 0) || (i > 0 && std::fabs(v[i]) < std::fabs(v[i - 1]))) {
        return {false, 0};
      }
    }
    return {true, std::copysign(kInf, last)};
  }
  for (double a : v) {
    if (!(std::fabs(a - last) <= 1e-9 * std::max(1.0, std::fabs(last)))) return {false, 0};
  }
  return {true, std::fabs(last) < 1e-100 ? 0.0 : last};
}

bool Close(double a, double b) {
  return a == b || std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b));
}

// Checks at_inf against the limit along `paths` (each a sequence of values at growing
// magnitudes): where every path has a limit and they agree, at_inf must be it; otherwise NaN.
// With `kink`, a value without a limit may also be one of the values along the way: a derivative
// at a tie between infinities follows the function's kink convention (maxout's first arg max).
// With `row_nan`, NaN is accepted in place of a limit too (a row without a limit somewhere is
// NaN throughout).
Limit CommonLimit(const std::vector<std::vector<double>>& paths) {
  Limit limit = LimitOf(paths[0]);
  for (const std::vector<double>& path : paths) {
    const Limit l = LimitOf(path);
    if (!l.exists || !Close(l.value, limit.value)) limit.exists = false;
  }
  return limit;
}

void ExpectLimit(const std::vector<std::vector<double>>& paths, double at_inf,
                 const std::string& what, bool kink = false, bool row_nan = false) {
  const Limit limit = CommonLimit(paths);
  if (limit.exists && row_nan && std::isnan(at_inf)) return;
  std::string approach;
  for (const std::vector<double>& path : paths) {
    absl::StrAppend(&approach, approach.empty() ? "" : "; ", absl::StrJoin(path, ", "));
  }
  if (!limit.exists) {
    bool along = false;
    for (const std::vector<double>& path : paths) {
      for (double a : path) along |= kink && Close(at_inf, a);
    }
    EXPECT_TRUE(std::isnan(at_inf) || along)
        << what << ": no limit, so NaN; got " << at_inf << " (approach: " << approach << ")";
  } else if (std::isinf(limit.value)) {
    EXPECT_EQ(at_inf, limit.value) << what << " (approach: " << approach << ")";
  } else {
    EXPECT_NEAR(at_inf, limit.value, 1e-9 * std::max(1.0, std::fabs(limit.value)))
        << what << " (approach: " << approach << ")";
  }
}

TEST(EdgeCaseTest, InfiniteInputsGiveTheLimitOrNanForEveryEntryAndParameterSetting) {
  auto backend = NewCpuBackend({.threads = 1});
  for (const ActivationInfo& info : AllActivations()) {
    if (info.layout != Layout::kElementwise) continue;
    for (const Overrides& o : ParamSettings(info)) {
      for (double sign : {1.0, -1.0}) {
        std::vector<double> y, dx, grad;
        // Up to 1e150, so that x^2 stays finite in the definitions' intermediate values.
        for (double m : {1e20, 1e60, 1e100, 1e150}) {
          const Point p = Evaluate<double>(*backend, info, o, sign * m);
          y.push_back(p.y);
          dx.push_back(p.dx);
          grad.push_back(p.grad);
        }
        const Point at_inf = Evaluate<double>(*backend, info, o, sign * kInf);
        const std::string what =
            absl::StrCat(Describe(info, o), " at ", sign > 0 ? "+" : "-", "inf");
        ExpectLimit({y}, at_inf.y, what + ": f");
        ExpectLimit({dx}, at_inf.dx, what + ": f'");
        if (LearnableParam(info) >= 0) ExpectLimit({grad}, at_inf.grad, what + ": df/dparam");
      }
    }
  }
}

TEST(EdgeCaseTest, Fp32ParameterGradientDoesNotOverflowWhereTheExactOneFitsADouble) {
  auto backend = NewCpuBackend({.threads = 1});
  for (const ActivationInfo& info : AllActivations()) {
    if (info.layout != Layout::kElementwise || LearnableParam(info) < 0) continue;
    for (const Overrides& o : ParamSettings(info)) {
      for (float x : {1e20f, -1e20f, 1e30f, -1e30f, 3e38f, -3e38f}) {
        const double exact = Evaluate<double>(*backend, info, o, static_cast<double>(x)).grad;
        const double ours = Evaluate<float>(*backend, info, o, x).grad;
        if (!std::isfinite(exact)) continue;
        EXPECT_NEAR(ours, exact, 1e-5 * std::fabs(exact)) << Describe(info, o) << " at x = " << x;
      }
    }
  }
}

// ---- Last-axis functions ----

// A row's output (y) and dx for dy = (1, 2, 3, ...), in double.
struct RowResult {
  std::vector<double> y, dx;
};

RowResult EvaluateRow(Backend& backend, const ActivationInfo& info, const std::vector<double>& x) {
  auto call = PrepareCall({.activation = info.name, .shape = {static_cast<int64_t>(x.size())}});
  EXPECT_TRUE(call.ok()) << call.status();
  RowResult r{std::vector<double>(call->output_size), std::vector<double>(x.size())};
  std::vector<double> dy(call->output_size);
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = static_cast<double>(i + 1);
  EXPECT_TRUE(backend.Forward(*call, x, absl::MakeSpan(r.y)).ok());
  EXPECT_TRUE(backend.Backward(*call, x, dy, absl::MakeSpan(r.dx), nullptr).ok());
  return r;
}

// Rows of length n with infinities: every pattern of {+inf, -inf, a finite value} at positions
// 0 and 1 and at n/2 and n/2 + 1 (the two halves of glu), the rest finite.
std::vector<std::vector<double>> InfinitePatterns(int64_t n) {
  const double kValues[] = {kInf, -kInf, 0.75};
  std::vector<std::vector<double>> rows;
  const int64_t pos[4] = {0, 1, n / 2, n / 2 + 1};
  for (int a = 0; a < 81; ++a) {
    std::vector<double> row(n);
    for (int64_t i = 0; i < n; ++i) row[i] = 0.25 * static_cast<double>(i % 3) - 0.5;
    bool any_inf = false;
    for (int j = 0, code = a; j < 4; ++j, code /= 3) {
      row[pos[j]] = kValues[code % 3];
      any_inf |= std::isinf(row[pos[j]]);
    }
    if (any_inf) rows.push_back(row);
  }
  return rows;
}

// The row with each infinite entry replaced by a finite value of its sign: magnitude times its
// scale (one per infinite entry).
std::vector<double> Finite(const std::vector<double>& row, const std::vector<double>& scales,
                           double magnitude) {
  std::vector<double> out = row;
  size_t k = 0;
  for (double& v : out) {
    if (std::isinf(v)) v = std::copysign(magnitude * scales[k++], v);
  }
  return out;
}

// Rates at which a row's infinite entries grow (one scale per infinite entry): all equal, and
// each entry in turn faster than the rest, linearly (2 against 1) and by far (1 against 1e-98,
// which stands for exponential rates too: glu's a * sigmoid(b) with a = e^|b|).
std::vector<std::vector<double>> Rates(const std::vector<double>& row) {
  size_t n = 0;
  for (double v : row) n += std::isinf(v);
  std::vector<std::vector<double>> rates = {std::vector<double>(n, 1.0)};
  for (size_t j = 0; j < n; ++j) {
    rates.push_back(std::vector<double>(n, 1.0));
    rates.back()[j] = 2;
    rates.push_back(std::vector<double>(n, 1e-98));
    rates.back()[j] = 1;
  }
  return rates;
}

// A valid row length for the function (its last_axis_rule), at least 6.
int64_t RowLength(const ActivationInfo& info) {
  for (int64_t n = 6; n < 64; ++n) {
    if (PrepareCall({.activation = info.name, .shape = {n}}).ok()) return n;
  }
  return -1;
}

TEST(EdgeCaseTest, RowsWithInfinitiesGiveTheLimitOrNanInTheWholeRow) {
  auto backend = NewCpuBackend({.threads = 1});
  for (const ActivationInfo& info : AllActivations()) {
    if (info.layout != Layout::kLastAxis) continue;
    const int64_t n = RowLength(info);
    ASSERT_GT(n, 0) << info.name;
    for (const std::vector<double>& row : InfinitePatterns(n)) {
      const RowResult at_inf = EvaluateRow(*backend, info, row);
      // Along each rate, growing magnitudes.
      std::vector<std::vector<RowResult>> along;
      for (const auto& rates : Rates(row)) {
        along.emplace_back();
        for (double m : {1e100, 1e150}) {
          along.back().push_back(EvaluateRow(*backend, info, Finite(row, rates, m)));
        }
      }
      const std::string what = absl::StrCat(info.name, " row [", absl::StrJoin(row, ", "), "]");
      // The approach of output i of part 0 (y) or 1 (dx) along each rate.
      auto paths = [&](int part, size_t i) {
        std::vector<std::vector<double>> out;
        for (const std::vector<RowResult>& path : along) {
          out.emplace_back();
          for (const RowResult& r : path) out.back().push_back(part == 0 ? r.y[i] : r.dx[i]);
        }
        return out;
      };
      bool row_without_limit = false;
      for (size_t i = 0; i < at_inf.y.size(); ++i) {
        row_without_limit |= !CommonLimit(paths(0, i)).exists;
      }
      for (int part = 0; part < 2; ++part) {
        const size_t size = part == 0 ? at_inf.y.size() : at_inf.dx.size();
        for (size_t i = 0; i < size; ++i) {
          ExpectLimit(paths(part, i), part == 0 ? at_inf.y[i] : at_inf.dx[i],
                      absl::StrCat(what, part == 0 ? ": y[" : ": dx[", i, "]"),
                      /*kink=*/part == 1, /*row_nan=*/row_without_limit);
        }
      }
    }
  }
}

// log_softmax agrees with the log of softmax wherever softmax is defined, infinities included,
// and is accurate next to the row maximum: (x - m) - log(s), within a few ulp in fp32.
TEST(EdgeCaseTest, LogSoftmaxIsTheLogOfSoftmaxAndAccurateNearTheMaximum) {
  auto backend = NewCpuBackend({.threads = 1});
  const ActivationInfo& soft = Info(*FindActivation("softmax"));
  const ActivationInfo& log_soft = Info(*FindActivation("log_softmax"));
  for (const std::vector<double>& row : InfinitePatterns(8)) {
    const RowResult s = EvaluateRow(*backend, soft, row), l = EvaluateRow(*backend, log_soft, row);
    for (size_t i = 0; i < row.size(); ++i) {
      if (std::isnan(s.y[i])) {
        EXPECT_TRUE(std::isnan(l.y[i])) << "row " << absl::StrJoin(row, ", ") << " at " << i;
      } else {
        EXPECT_NEAR(std::exp(l.y[i]), s.y[i], 1e-15) << "row " << absl::StrJoin(row, ", ");
      }
    }
  }
  // Next to the maximum: x = (m, m - d), where log_softmax is -log(1 + e^-d) at the maximum, and
  // x - (m + log s) would lose the digits of log s below m's ulp (thousands of ulp at m = 3000).
  auto call = PrepareCall({.activation = "log_softmax", .shape = {2}});
  ASSERT_TRUE(call.ok());
  for (float m : {1.0f, 100.0f, 3000.0f}) {
    for (float d : {1e-5f, 1e-3f, 0.5f, 2.0f}) {
      const float x[2] = {m, m - d};
      float y[2];
      ASSERT_TRUE(backend->Forward(*call, absl::MakeConstSpan(x), absl::MakeSpan(y)).ok());
      const long double dd = static_cast<long double>(x[0]) - x[1];
      const long double exact0 = -log1pl(expl(-dd));
      const float ref = static_cast<float>(exact0);
      const long double ulp =
          std::nextafter(std::fabs(ref), std::numeric_limits<float>::infinity()) - std::fabs(ref);
      EXPECT_LE(fabsl(y[0] - exact0) / ulp, 4) << "m = " << m << ", d = " << d;
    }
  }
}

}  // namespace
}  // namespace actserve
