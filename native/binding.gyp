# The ssl-kd native CPU kernel layer (runtime/backend/native): an N-API addon
# on oneDNN (libdnnl-dev) and OpenMP. Built on demand, never on install:
#   npm run setup             (setup/setup.mjs: installs what is missing, builds it when it can, checks it against wasm)
#   npm run build:native      (node-gyp rebuild --directory=native; fails loudly)
# -march=native: the addon is built on the machine that runs it (AVX-512 here).
{
  "targets": [
    {
      "target_name": "ssl_kd_native",
      "sources": ["src/addon.cc", "src/matmul.cc", "src/elementwise.cc", "src/layout.cc", "src/fused.cc", "src/attention.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fexceptions", "-fno-math-errno", "-fno-trapping-math"],
      "libraries": ["-ldnnl", "-fopenmp"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
