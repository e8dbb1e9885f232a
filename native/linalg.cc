// Float64 linear algebra through OpenBLAS (BLAS + its bundled LAPACK), for numerics/linalg-native.ts.
// Row-major Float64Arrays in and out; the JS side checks shapes.
#include <napi.h>
#include <cblas.h>

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info);
}

static double* data(const Napi::Value& v) {
  Napi::Float64Array a = v.As<Napi::Float64Array>();
  return a.Data();
}

// Row-major lower triangle = column-major upper triangle: factor and invert "U" in place.
static int InvertLowerRowMajor(double* a, int n) {
  int status = 0;
  dpotrf_("U", &n, a, &n, &status);
  if (status == 0) dpotri_("U", &n, a, &n, &status);
  return status;
}

// inverseSPD(a, n): a (n x n, symmetric) is replaced by its inverse, both triangles. Returns the
// LAPACK info (0 = success, > 0 = not positive definite).
static Napi::Value InverseSPD(const Napi::CallbackInfo& info) {
  double* a = data(info[0]);
  int n = info[1].As<Napi::Number>().Int32Value();
  int status = InvertLowerRowMajor(a, n);
  if (status == 0) {
    for (int i = 0; i < n; i++)
      for (int j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  }
  return Napi::Number::New(info.Env(), status);
}

// inverseSPDLower(a, n): as inverseSPD, but only the lower triangle (row-major) is written: the
// mirror's strided writes cost more than a symmetric reader pays for reading one triangle.
static Napi::Value InverseSPDLower(const Napi::CallbackInfo& info) {
  int n = info[1].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), InvertLowerRowMajor(data(info[0]), n));
}

// symmLower(a, m, n, b, c): C (m x n) = A B with A (m x m) symmetric, given by its lower triangle.
static Napi::Value SymmLower(const Napi::CallbackInfo& info) {
  double* a = data(info[0]);
  int m = info[1].As<Napi::Number>().Int32Value();
  int n = info[2].As<Napi::Number>().Int32Value();
  double* b = data(info[3]);
  double* c = data(info[4]);
  cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, m, n, 1.0, a, m, b, n, 0.0, c, n);
  return info.Env().Undefined();
}

// syrkLower(x, n, d, alpha, c): c (n x n) lower triangle = alpha * X Xᵀ, X row-major n x d.
static Napi::Value SyrkLower(const Napi::CallbackInfo& info) {
  double* x = data(info[0]);
  int n = info[1].As<Napi::Number>().Int32Value();
  int d = info[2].As<Napi::Number>().Int32Value();
  double alpha = info[3].As<Napi::Number>().DoubleValue();
  double* c = data(info[4]);
  cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, d, alpha, x, d, 0.0, c, n);
  return info.Env().Undefined();
}

// gemm(transA, transB, m, n, k, alpha, a, b, beta, c): C = alpha op(A) op(B) + beta C, row-major.
static Napi::Value Gemm(const Napi::CallbackInfo& info) {
  bool ta = info[0].As<Napi::Boolean>().Value();
  bool tb = info[1].As<Napi::Boolean>().Value();
  int m = info[2].As<Napi::Number>().Int32Value();
  int n = info[3].As<Napi::Number>().Int32Value();
  int k = info[4].As<Napi::Number>().Int32Value();
  double alpha = info[5].As<Napi::Number>().DoubleValue();
  double* a = data(info[6]);
  double* b = data(info[7]);
  double beta = info[8].As<Napi::Number>().DoubleValue();
  double* c = data(info[9]);
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, ta ? m : k, b,
              tb ? k : n, beta, c, n);
  return info.Env().Undefined();
}

// setThreads(n): OpenBLAS threads; the scheduler already runs one node per core.
static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  openblas_set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("inverseSPD", Napi::Function::New(env, InverseSPD));
  exports.Set("inverseSPDLower", Napi::Function::New(env, InverseSPDLower));
  exports.Set("symmLower", Napi::Function::New(env, SymmLower));
  exports.Set("syrkLower", Napi::Function::New(env, SyrkLower));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  return exports;
}

NODE_API_MODULE(linalg, Init)
