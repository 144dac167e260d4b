// The native kernels behind the tfjs `native` backend. All operate on
// contiguous row-major float32 buffers owned by JavaScript (no copies).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sslkd {

/**
 * out[b] = op(A[b]) · op(B[b]) (+ bias, a row of n added to every row, when not null) for b < batch;
 * batchA/batchB are 1 (broadcast) or batch.
 */
void matmul(const float* a, const float* b, float* out, int64_t batchA, int64_t batchB, int64_t m, int64_t k,
            int64_t n, bool transA, bool transB, bool bf16, const float* bias = nullptr);

/** Names the oneDNN version, the ISA it dispatched to and the thread count. */
std::string dnnlInfo();
/**
 * Runs body(threads) with 1 thread or all of them, picked per `key` by measured time as for the matmuls
 * (1 when `parallel` is false or the threads are pinned to 1; all when pinned higher). For memory-bound
 * fused kernels large enough (>= kParallelElems) to gain from a second core's bandwidth on an idle machine.
 */
void runTuned(const std::string& key, bool parallel, const std::function<void(int)>& body);
/** Elements from which a fused elementwise kernel may use threads. */
constexpr int64_t kParallelElems = 1 << 17;
/** Pins the threads of large oneDNN matmuls (OpenMP); unpinned, each shape picks 1 or all by measured time. LayerNorm, GELU, softmax and its gradient pick 1 or all threads likewise (runTuned); the rest are single-threaded. */
void setThreads(int n);

enum class BinaryOp { Add, Sub, Mul, Div, SquaredDifference, Maximum, Minimum };
enum class UnaryOp { Erf, Exp, Log, Neg, Rsqrt, Sqrt, Square, Reciprocal, Abs, Tanh, Sigmoid, Relu };

/** Broadcasting binary op; outShape rank r, aStrides/bStrides have 0 on broadcast axes. */
void binary(BinaryOp op, const float* a, const float* b, float* out, const std::vector<int64_t>& outShape,
            const std::vector<int64_t>& aStrides, const std::vector<int64_t>& bStrides);
void unary(UnaryOp op, const float* x, float* out, int64_t n);
/** Softmax over the last axis of [rows, cols]. */
void softmax(const float* x, float* out, int64_t rows, int64_t cols);
/** Reduces a tensor viewed as [outer, mid, inner] over mid. kind: 0 sum, 1 mean, 2 max, 3 min. */
void reduce(int kind, const float* x, float* out, int64_t outer, int64_t mid, int64_t inner);
/** General transpose: out = permute(x, perm) for x of shape `shape`. */
void transpose(const float* x, float* out, const std::vector<int64_t>& shape, const std::vector<int64_t>& perm);


// Fused kernels (fused.cc). Rows are the leading axes flattened; `cols` the last axis.
/** y = (x - mean) * rstd * gamma + beta per row; writes each row's mean and 1/sqrt(var + eps). */
void layerNorm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int64_t rows,
               int64_t cols, float eps);
/** Gradients of layerNorm from its saved mean/rstd: dx per row, dgamma and dbeta summed over rows. */
void layerNormGrad(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd, float* dx,
                   float* dgamma, float* dbeta, int64_t rows, int64_t cols);
/** Exact GELU, x * Phi(x), and its gradient dy * (Phi(x) + x * phi(x)). */
void gelu(const float* x, float* y, int64_t n);
void geluGrad(const float* dy, const float* x, float* dx, int64_t n);
/** Gradient of a last-axis softmax from its output y: dx = y * (dy - sum(dy * y)). */
void softmaxGrad(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);

struct AdamWScalars {
  float beta1, beta2, oneMinusBeta1, oneMinusBeta2, c1, c2, eps, lr, keep;
  bool decay;
};
/** One AdamW step of one parameter (plugins/training/adamw.ts) into fresh outputs. */
void adamw(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
           int64_t n, const AdamWScalars& s);

// Fused attention core (attention.cc): qkv [B, N, 3·H·Dh] (q, k, v blocks of H·Dh columns) -> out [B, N, H·Dh], attn [B, H, N, N].
/** out = softmax(scale · q · kᵀ) · v per (image, head), heads merged back into columns; writes the attention maps. */
void attentionCore(const float* qkv, float* out, float* attn, int64_t batch, int64_t tokens, int64_t heads, int64_t dh,
                   float scale);
/** dqkv from the saved qkv and attn, the output gradient dOut and (when not null) a gradient dAttn of the maps. */
void attentionCoreGrad(const float* qkv, const float* attn, const float* dOut, const float* dAttn, float* dqkv,
                       int64_t batch, int64_t tokens, int64_t heads, int64_t dh, float scale);

}  // namespace sslkd
