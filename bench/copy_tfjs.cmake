# Copies TF.js's UMD bundles, its wasm backend binaries (from node_modules) and
# bench/tfjs_gru.mjs and bench/tfjs_beam.mjs into <build>/web-dist/tfjs/, so web/bench.html loads everything
# from our own origin (no CDN). Skipped with a message without `npm install`.
if(NOT EXISTS ${SRC_WASM}/tfjs-backend-wasm-simd.wasm)
  message(STATUS "TF.js wasm backend not installed (npm install): web/bench.html will skip TF.js")
  return()
endif()
file(MAKE_DIRECTORY ${DEST})
file(GLOB wasm_files ${SRC_WASM}/*.wasm)
foreach(f ${wasm_files} ${SRC_WASM}/tf-backend-wasm.min.js ${SRC_TFJS}/tf.min.js ${SRC_BENCH}/tfjs_gru.mjs
          ${SRC_BENCH}/tfjs_beam.mjs)
  file(COPY ${f} DESTINATION ${DEST})
endforeach()
