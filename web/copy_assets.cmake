# Copies what the demo page loads besides the wasm build into the wasm build's web-dist/ (served as the page's dist/) (the web
# build output, gitignored), at build time of varscope_web:
#   - uPlot (npm `uplot`, the loss / accuracy plots): dist/uPlot.esm.js + uPlot.min.css -> the wasm build's web-dist/ (served as the page's dist/)uplot/
#   - the committed trained date model models/dates.json -> the wasm build's web-dist/ (served as the page's dist/)models/dates.json
# Missing uPlot is an error naming the fix (the page cannot plot without it).
foreach(f ${SRC_UPLOT}/uPlot.esm.js ${SRC_UPLOT}/uPlot.min.css ${SRC_MODEL})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "${f} is missing: run `npm ci` (uplot is in package.json) / keep models/dates.json")
  endif()
endforeach()
file(MAKE_DIRECTORY ${DEST}/uplot ${DEST}/models)
file(COPY ${SRC_UPLOT}/uPlot.esm.js ${SRC_UPLOT}/uPlot.min.css DESTINATION ${DEST}/uplot)
file(COPY ${SRC_MODEL} DESTINATION ${DEST}/models)
