# Copies what the demo page loads besides the wasm build into the wasm build's web-dist/ (served as the page's dist/) (the web
# build output, gitignored), at build time of varscope_web:
#   - uPlot (npm `uplot`, the loss / accuracy plots): dist/uPlot.esm.js + uPlot.min.css -> the wasm build's web-dist/ (served as the page's dist/)uplot/
#   - the committed trained date models models/dates.json and models/dates-attention.json (SRC_MODEL, SRC_MODEL_ATTENTION)
#     -> the wasm build's web-dist/ (served as the page's dist/)models/
# Missing uPlot is an error naming the fix (the page cannot plot without it).
foreach(f ${SRC_UPLOT}/uPlot.esm.js ${SRC_UPLOT}/uPlot.min.css ${SRC_MODEL} ${SRC_MODEL_ATTENTION})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "${f} is missing: run `npm ci` (uplot is in package.json) / keep models/dates.json and models/dates-attention.json")
  endif()
endforeach()
file(MAKE_DIRECTORY ${DEST}/uplot ${DEST}/models)
file(COPY ${SRC_UPLOT}/uPlot.esm.js ${SRC_UPLOT}/uPlot.min.css DESTINATION ${DEST}/uplot)
file(COPY ${SRC_MODEL} ${SRC_MODEL_ATTENTION} DESTINATION ${DEST}/models)
