// N-API entry points of the ssl-kd native kernel layer. Every tensor argument
// is a Float32Array whose memory the kernel reads or writes in place; output
// arrays are allocated by the caller. Shapes are validated here against the
// array lengths so a bad call throws a TypeError instead of reading past a buffer.
#include <node_api.h>
#include <cstring>
#include <exception>
#include <string>
#include <tuple>
#include "kernels.h"
#include "napi_args.h"

namespace sslkd {

napi_value throwType(napi_env env, const char* msg) {
  napi_throw_type_error(env, "SSLKD_NATIVE_ARG", msg);
  return nullptr;
}

bool argF32(napi_env env, napi_value v, F32View* out, const char* what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  void* data = nullptr;
  size_t length = 0;
  if (is) napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr);
  if (!is || type != napi_float32_array) {
    throwType(env, (std::string(what) + " must be a Float32Array").c_str());
    return false;
  }
  out->data = static_cast<float*>(data);
  out->length = length;
  return true;
}

bool argInt(napi_env env, napi_value v, int64_t* out, const char* what) {
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    throwType(env, (std::string(what) + " must be an integer").c_str());
    return false;
  }
  return true;
}

bool argBool(napi_env env, napi_value v, bool* out, const char* what) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    throwType(env, (std::string(what) + " must be a boolean").c_str());
    return false;
  }
  return true;
}

bool argInts(napi_env env, napi_value v, std::vector<int64_t>* out, const char* what) {
  bool is = false;
  napi_is_array(env, v, &is);
  uint32_t n = 0;
  if (!is || napi_get_array_length(env, v, &n) != napi_ok) {
    throwType(env, (std::string(what) + " must be an array of integers").c_str());
    return false;
  }
  out->resize(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    if (!argInt(env, e, &(*out)[i], what)) return false;
  }
  return true;
}

namespace {

template <size_t N>
bool args(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != N) {
    throwType(env, ("expected " + std::to_string(N) + " arguments").c_str());
    return false;
  }
  return true;
}

napi_value runGuarded(napi_env env, const char* name, void (*body)(void*), void* ctx) {
  try {
    body(ctx);
  } catch (const std::exception& e) {
    napi_throw_error(env, "SSLKD_NATIVE_KERNEL", (std::string(name) + ": " + e.what()).c_str());
  }
  return nullptr;
}

// matmul(a, b, out, batchA, batchB, m, k, n, transA, transB, bf16)
napi_value Matmul(napi_env env, napi_callback_info info) {
  napi_value v[11];
  if (!args(env, info, v)) return nullptr;
  struct Ctx {
    F32View a, b, o;
    int64_t ba, bb, m, k, n;
    bool ta, tb, bf;
  } c;
  if (!argF32(env, v[0], &c.a, "a") || !argF32(env, v[1], &c.b, "b") || !argF32(env, v[2], &c.o, "out") ||
      !argInt(env, v[3], &c.ba, "batchA") || !argInt(env, v[4], &c.bb, "batchB") || !argInt(env, v[5], &c.m, "m") ||
      !argInt(env, v[6], &c.k, "k") || !argInt(env, v[7], &c.n, "n") || !argBool(env, v[8], &c.ta, "transA") ||
      !argBool(env, v[9], &c.tb, "transB") || !argBool(env, v[10], &c.bf, "bf16")) {
    return nullptr;
  }
  const int64_t batch = c.ba > c.bb ? c.ba : c.bb;
  if (c.ba < 1 || c.bb < 1 || (c.ba != c.bb && c.ba != 1 && c.bb != 1) || c.m < 1 || c.k < 1 || c.n < 1 ||
      static_cast<int64_t>(c.a.length) != c.ba * c.m * c.k || static_cast<int64_t>(c.b.length) != c.bb * c.k * c.n ||
      static_cast<int64_t>(c.o.length) != batch * c.m * c.n) {
    return throwType(env, "matmul: array lengths do not match batch/m/k/n");
  }
  return runGuarded(env, "matmul", [](void* p) {
    auto* x = static_cast<Ctx*>(p);
    matmul(x->a.data, x->b.data, x->o.data, x->ba, x->bb, x->m, x->k, x->n, x->ta, x->tb, x->bf);
  }, &c);
}

// matmulBias(a, b, bias, out, batchA, batchB, m, k, n, transA, transB, bf16): matmul plus a bias row of n
// added to every output row inside oneDNN (no separate Add pass).
napi_value MatmulBias(napi_env env, napi_callback_info info) {
  napi_value v[12];
  if (!args(env, info, v)) return nullptr;
  struct Ctx {
    F32View a, b, bias, o;
    int64_t ba, bb, m, k, n;
    bool ta, tb, bf;
  } c;
  if (!argF32(env, v[0], &c.a, "a") || !argF32(env, v[1], &c.b, "b") || !argF32(env, v[2], &c.bias, "bias") ||
      !argF32(env, v[3], &c.o, "out") || !argInt(env, v[4], &c.ba, "batchA") || !argInt(env, v[5], &c.bb, "batchB") ||
      !argInt(env, v[6], &c.m, "m") || !argInt(env, v[7], &c.k, "k") || !argInt(env, v[8], &c.n, "n") ||
      !argBool(env, v[9], &c.ta, "transA") || !argBool(env, v[10], &c.tb, "transB") || !argBool(env, v[11], &c.bf, "bf16")) {
    return nullptr;
  }
  const int64_t batch = c.ba > c.bb ? c.ba : c.bb;
  if (c.ba < 1 || c.bb < 1 || (c.ba != c.bb && c.ba != 1 && c.bb != 1) || c.m < 1 || c.k < 1 || c.n < 1 ||
      static_cast<int64_t>(c.a.length) != c.ba * c.m * c.k || static_cast<int64_t>(c.b.length) != c.bb * c.k * c.n ||
      static_cast<int64_t>(c.o.length) != batch * c.m * c.n || static_cast<int64_t>(c.bias.length) != c.n) {
    return throwType(env, "matmulBias: array lengths do not match batch/m/k/n");
  }
  return runGuarded(env, "matmulBias", [](void* p) {
    auto* x = static_cast<Ctx*>(p);
    matmul(x->a.data, x->b.data, x->o.data, x->ba, x->bb, x->m, x->k, x->n, x->ta, x->tb, x->bf, x->bias.data);
  }, &c);
}

// binary(op, a, b, out, outShape, aStrides, bStrides)
napi_value Binary(napi_env env, napi_callback_info info) {
  napi_value v[7];
  if (!args(env, info, v)) return nullptr;
  int64_t op;
  F32View a, b, o;
  std::vector<int64_t> shape, sa, sb;
  if (!argInt(env, v[0], &op, "op") || !argF32(env, v[1], &a, "a") || !argF32(env, v[2], &b, "b") ||
      !argF32(env, v[3], &o, "out") || !argInts(env, v[4], &shape, "outShape") || !argInts(env, v[5], &sa, "aStrides") ||
      !argInts(env, v[6], &sb, "bStrides")) {
    return nullptr;
  }
  if (op < 0 || op > static_cast<int64_t>(BinaryOp::Minimum)) return throwType(env, "binary: unknown op");
  if (sa.size() != shape.size() || sb.size() != shape.size()) return throwType(env, "binary: stride ranks differ");
  int64_t total = 1, lastA = 0, lastB = 0;
  for (size_t d = 0; d < shape.size(); d++) {
    total *= shape[d];
    lastA += (shape[d] - 1) * sa[d];
    lastB += (shape[d] - 1) * sb[d];
  }
  if (static_cast<int64_t>(o.length) != total || lastA >= static_cast<int64_t>(a.length) ||
      lastB >= static_cast<int64_t>(b.length) || a.length == 0 || b.length == 0) {
    return throwType(env, "binary: shape/strides do not fit the arrays");
  }
  binary(static_cast<BinaryOp>(op), a.data, b.data, o.data, shape, sa, sb);
  return nullptr;
}

// unary(op, x, out)
napi_value Unary(napi_env env, napi_callback_info info) {
  napi_value v[3];
  if (!args(env, info, v)) return nullptr;
  int64_t op;
  F32View x, o;
  if (!argInt(env, v[0], &op, "op") || !argF32(env, v[1], &x, "x") || !argF32(env, v[2], &o, "out")) return nullptr;
  if (op < 0 || op > static_cast<int64_t>(UnaryOp::Relu)) return throwType(env, "unary: unknown op");
  if (x.length != o.length) return throwType(env, "unary: x and out differ in length");
  unary(static_cast<UnaryOp>(op), x.data, o.data, static_cast<int64_t>(x.length));
  return nullptr;
}

// softmax(x, out, cols)
napi_value Softmax(napi_env env, napi_callback_info info) {
  napi_value v[3];
  if (!args(env, info, v)) return nullptr;
  F32View x, o;
  int64_t cols;
  if (!argF32(env, v[0], &x, "x") || !argF32(env, v[1], &o, "out") || !argInt(env, v[2], &cols, "cols")) return nullptr;
  if (cols < 1 || x.length != o.length || x.length % cols != 0) return throwType(env, "softmax: bad shape");
  softmax(x.data, o.data, static_cast<int64_t>(x.length) / cols, cols);
  return nullptr;
}

// reduce(kind, x, out, outer, mid, inner)
napi_value Reduce(napi_env env, napi_callback_info info) {
  napi_value v[6];
  if (!args(env, info, v)) return nullptr;
  int64_t kind, outer, mid, inner;
  F32View x, o;
  if (!argInt(env, v[0], &kind, "kind") || !argF32(env, v[1], &x, "x") || !argF32(env, v[2], &o, "out") ||
      !argInt(env, v[3], &outer, "outer") || !argInt(env, v[4], &mid, "mid") || !argInt(env, v[5], &inner, "inner")) {
    return nullptr;
  }
  if (kind < 0 || kind > 3 || outer < 1 || mid < 1 || inner < 1 ||
      static_cast<int64_t>(x.length) != outer * mid * inner || static_cast<int64_t>(o.length) != outer * inner) {
    return throwType(env, "reduce: bad shape");
  }
  reduce(static_cast<int>(kind), x.data, o.data, outer, mid, inner);
  return nullptr;
}

// transpose(x, out, shape, perm)
napi_value Transpose(napi_env env, napi_callback_info info) {
  napi_value v[4];
  if (!args(env, info, v)) return nullptr;
  F32View x, o;
  std::vector<int64_t> shape, perm;
  if (!argF32(env, v[0], &x, "x") || !argF32(env, v[1], &o, "out") || !argInts(env, v[2], &shape, "shape") ||
      !argInts(env, v[3], &perm, "perm")) {
    return nullptr;
  }
  int64_t total = 1;
  std::vector<bool> seen(shape.size(), false);
  for (int64_t d : shape) total *= d;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(shape.size()) || seen[p]) return throwType(env, "transpose: bad perm");
    seen[p] = true;
  }
  if (shape.empty() || perm.size() != shape.size() || static_cast<int64_t>(x.length) != total || x.length != o.length) {
    return throwType(env, "transpose: bad shape");
  }
  transpose(x.data, o.data, shape, perm);
  return nullptr;
}

bool argNum(napi_env env, napi_value v, double* out, const char* what) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    throwType(env, (std::string(what) + " must be a number").c_str());
    return false;
  }
  return true;
}

/** rows x cols from an array length; false (and a TypeError) when it does not divide. */
bool rowsOf(napi_env env, const F32View& x, int64_t cols, int64_t* rows, const char* name) {
  if (cols < 1 || x.length == 0 || x.length % static_cast<size_t>(cols) != 0) {
    throwType(env, (std::string(name) + ": bad shape").c_str());
    return false;
  }
  *rows = static_cast<int64_t>(x.length) / cols;
  return true;
}

// layerNorm(x, gamma, beta, y, mean, rstd, cols, eps)
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  napi_value v[8];
  if (!args(env, info, v)) return nullptr;
  F32View x, g, b, y, mu, rs;
  int64_t cols, rows;
  double eps;
  if (!argF32(env, v[0], &x, "x") || !argF32(env, v[1], &g, "gamma") || !argF32(env, v[2], &b, "beta") ||
      !argF32(env, v[3], &y, "y") || !argF32(env, v[4], &mu, "mean") || !argF32(env, v[5], &rs, "rstd") ||
      !argInt(env, v[6], &cols, "cols") || !argNum(env, v[7], &eps, "eps") || !rowsOf(env, x, cols, &rows, "layerNorm")) {
    return nullptr;
  }
  if (g.length != static_cast<size_t>(cols) || b.length != g.length || y.length != x.length ||
      mu.length != static_cast<size_t>(rows) || rs.length != mu.length) {
    return throwType(env, "layerNorm: array lengths do not match rows/cols");
  }
  layerNorm(x.data, g.data, b.data, y.data, mu.data, rs.data, rows, cols, static_cast<float>(eps));
  return nullptr;
}

// layerNormGrad(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, cols)
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  napi_value v[9];
  if (!args(env, info, v)) return nullptr;
  F32View dy, x, g, mu, rs, dx, dg, db;
  int64_t cols, rows;
  if (!argF32(env, v[0], &dy, "dy") || !argF32(env, v[1], &x, "x") || !argF32(env, v[2], &g, "gamma") ||
      !argF32(env, v[3], &mu, "mean") || !argF32(env, v[4], &rs, "rstd") || !argF32(env, v[5], &dx, "dx") ||
      !argF32(env, v[6], &dg, "dgamma") || !argF32(env, v[7], &db, "dbeta") || !argInt(env, v[8], &cols, "cols") ||
      !rowsOf(env, x, cols, &rows, "layerNormGrad")) {
    return nullptr;
  }
  if (dy.length != x.length || dx.length != x.length || g.length != static_cast<size_t>(cols) || dg.length != g.length ||
      db.length != g.length || mu.length != static_cast<size_t>(rows) || rs.length != mu.length) {
    return throwType(env, "layerNormGrad: array lengths do not match rows/cols");
  }
  layerNormGrad(dy.data, x.data, g.data, mu.data, rs.data, dx.data, dg.data, db.data, rows, cols);
  return nullptr;
}

// gelu(x, y)
napi_value Gelu(napi_env env, napi_callback_info info) {
  napi_value v[2];
  if (!args(env, info, v)) return nullptr;
  F32View x, y;
  if (!argF32(env, v[0], &x, "x") || !argF32(env, v[1], &y, "y")) return nullptr;
  if (x.length != y.length) return throwType(env, "gelu: x and y differ in length");
  gelu(x.data, y.data, static_cast<int64_t>(x.length));
  return nullptr;
}

// geluGrad(dy, x, dx)
napi_value GeluGrad(napi_env env, napi_callback_info info) {
  napi_value v[3];
  if (!args(env, info, v)) return nullptr;
  F32View dy, x, dx;
  if (!argF32(env, v[0], &dy, "dy") || !argF32(env, v[1], &x, "x") || !argF32(env, v[2], &dx, "dx")) return nullptr;
  if (x.length != dy.length || x.length != dx.length) return throwType(env, "geluGrad: lengths differ");
  geluGrad(dy.data, x.data, dx.data, static_cast<int64_t>(x.length));
  return nullptr;
}

// softmaxGrad(y, dy, dx, cols)
napi_value SoftmaxGrad(napi_env env, napi_callback_info info) {
  napi_value v[4];
  if (!args(env, info, v)) return nullptr;
  F32View y, dy, dx;
  int64_t cols, rows;
  if (!argF32(env, v[0], &y, "y") || !argF32(env, v[1], &dy, "dy") || !argF32(env, v[2], &dx, "dx") ||
      !argInt(env, v[3], &cols, "cols") || !rowsOf(env, y, cols, &rows, "softmaxGrad")) {
    return nullptr;
  }
  if (dy.length != y.length || dx.length != y.length) return throwType(env, "softmaxGrad: lengths differ");
  softmaxGrad(y.data, dy.data, dx.data, rows, cols);
  return nullptr;
}

// adamw(p, g, m, v, pOut, mOut, vOut, beta1, beta2, eps, lr, c1, c2, weightDecay)
napi_value AdamW(napi_env env, napi_callback_info info) {
  napi_value v[14];
  if (!args(env, info, v)) return nullptr;
  F32View p, g, m, vv, po, mo, vo;
  double b1, b2, eps, lr, c1, c2, wd;
  if (!argF32(env, v[0], &p, "p") || !argF32(env, v[1], &g, "g") || !argF32(env, v[2], &m, "m") ||
      !argF32(env, v[3], &vv, "v") || !argF32(env, v[4], &po, "pOut") || !argF32(env, v[5], &mo, "mOut") ||
      !argF32(env, v[6], &vo, "vOut") || !argNum(env, v[7], &b1, "beta1") || !argNum(env, v[8], &b2, "beta2") ||
      !argNum(env, v[9], &eps, "eps") || !argNum(env, v[10], &lr, "lr") || !argNum(env, v[11], &c1, "c1") ||
      !argNum(env, v[12], &c2, "c2") || !argNum(env, v[13], &wd, "weightDecay")) {
    return nullptr;
  }
  const size_t n = p.length;
  if (g.length != n || m.length != n || vv.length != n || po.length != n || mo.length != n || vo.length != n) {
    return throwType(env, "adamw: lengths differ");
  }
  // The scalars as the tfjs path rounds them: each JS double becomes a float32 scalar tensor.
  AdamWScalars s{static_cast<float>(b1), static_cast<float>(b2), static_cast<float>(1.0 - b1),
                 static_cast<float>(1.0 - b2), static_cast<float>(c1), static_cast<float>(c2),
                 static_cast<float>(eps), static_cast<float>(lr), static_cast<float>(1.0 - lr * wd), wd > 0};
  adamw(p.data, g.data, m.data, vv.data, po.data, mo.data, vo.data, static_cast<int64_t>(n), s);
  return nullptr;
}

/** Reads batch, tokens, heads, dh and checks qkv holds [batch, tokens, 3·heads·dh]. */
bool attentionShape(napi_env env, napi_value* v, const F32View& qkv, int64_t* dims, const char* op) {
  for (int i = 0; i < 4; i++) {
    static const char* names[] = {"batch", "tokens", "heads", "dh"};
    if (!argInt(env, v[i], &dims[i], names[i])) return false;
    if (dims[i] < 1) {
      throwType(env, (std::string(op) + ": " + names[i] + " must be >= 1").c_str());
      return false;
    }
  }
  if (qkv.length != static_cast<size_t>(dims[0] * dims[1] * 3 * dims[2] * dims[3])) {
    throwType(env, (std::string(op) + ": qkv length is not batch * tokens * 3 * heads * dh").c_str());
    return false;
  }
  return true;
}

// attentionCore(qkv, out, attn, batch, tokens, heads, dh, scale)
napi_value AttentionCore(napi_env env, napi_callback_info info) {
  napi_value v[8];
  if (!args(env, info, v)) return nullptr;
  F32View qkv, out, attn;
  int64_t dims[4];
  double scale;
  if (!argF32(env, v[0], &qkv, "qkv") || !argF32(env, v[1], &out, "out") || !argF32(env, v[2], &attn, "attn") ||
      !attentionShape(env, v + 3, qkv, dims, "attentionCore") || !argNum(env, v[7], &scale, "scale")) {
    return nullptr;
  }
  const auto [b, n, h, dh] = std::tuple{dims[0], dims[1], dims[2], dims[3]};
  if (out.length != static_cast<size_t>(b * n * h * dh) || attn.length != static_cast<size_t>(b * h * n * n)) {
    return throwType(env, "attentionCore: out must hold batch * tokens * heads * dh, attn batch * heads * tokens * tokens");
  }
  attentionCore(qkv.data, out.data, attn.data, b, n, h, dh, static_cast<float>(scale));
  return nullptr;
}

// attentionCoreGrad(qkv, attn, dOut, dAttn | null, dqkv, batch, tokens, heads, dh, scale)
napi_value AttentionCoreGrad(napi_env env, napi_callback_info info) {
  napi_value v[10];
  if (!args(env, info, v)) return nullptr;
  F32View qkv, attn, dOut, dAttn, dqkv;
  napi_valuetype t;
  napi_typeof(env, v[3], &t);
  const bool hasDAttn = t != napi_null && t != napi_undefined;
  int64_t dims[4];
  double scale;
  if (!argF32(env, v[0], &qkv, "qkv") || !argF32(env, v[1], &attn, "attn") || !argF32(env, v[2], &dOut, "dOut") ||
      (hasDAttn && !argF32(env, v[3], &dAttn, "dAttn")) || !argF32(env, v[4], &dqkv, "dqkv") ||
      !attentionShape(env, v + 5, qkv, dims, "attentionCoreGrad") || !argNum(env, v[9], &scale, "scale")) {
    return nullptr;
  }
  const auto [b, n, h, dh] = std::tuple{dims[0], dims[1], dims[2], dims[3]};
  if (dqkv.length != qkv.length || dOut.length != static_cast<size_t>(b * n * h * dh) || attn.length != static_cast<size_t>(b * h * n * n) ||
      (hasDAttn && dAttn.length != attn.length)) {
    return throwType(env, "attentionCoreGrad: dqkv must match qkv, dOut hold batch * tokens * heads * dh, attn and dAttn batch * heads * tokens * tokens");
  }
  attentionCoreGrad(qkv.data, attn.data, dOut.data, hasDAttn ? dAttn.data : nullptr, dqkv.data, b, n, h, dh, static_cast<float>(scale));
  return nullptr;
}

// setThreads(n)
napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value v[1];
  if (!args(env, info, v)) return nullptr;
  int64_t n;
  if (!argInt(env, v[0], &n, "threads")) return nullptr;
  if (n < 1 || n > 1024) return throwType(env, "setThreads: expected 1..1024");
  setThreads(static_cast<int>(n));
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value s;
  const std::string text = dnnlInfo();
  napi_create_string_utf8(env, text.c_str(), text.size(), &s);
  return s;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"matmulBias", nullptr, MatmulBias, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"layerNorm", nullptr, LayerNorm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"layerNormGrad", nullptr, LayerNormGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gelu", nullptr, Gelu, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"geluGrad", nullptr, GeluGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"softmaxGrad", nullptr, SoftmaxGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamw", nullptr, AdamW, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"attentionCore", nullptr, AttentionCore, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"attentionCoreGrad", nullptr, AttentionCoreGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace
}  // namespace sslkd

NAPI_MODULE(NODE_GYP_MODULE_NAME, sslkd::Init)
