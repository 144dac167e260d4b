// Argument decoding for the N-API entry points: Float32Array views (zero-copy),
// integers, booleans and int arrays. Every failure throws a JS TypeError and
// returns false so the caller can return nullptr at once.
#pragma once
#include <node_api.h>
#include <cstdint>
#include <vector>

namespace sslkd {

struct F32View {
  float* data = nullptr;
  size_t length = 0;
};

bool argF32(napi_env env, napi_value v, F32View* out, const char* what);
bool argInt(napi_env env, napi_value v, int64_t* out, const char* what);
bool argBool(napi_env env, napi_value v, bool* out, const char* what);
bool argInts(napi_env env, napi_value v, std::vector<int64_t>* out, const char* what);
bool argStr(napi_env env, napi_value v, char* buf, size_t cap, const char* what);
napi_value throwType(napi_env env, const char* msg);

}  // namespace sslkd
