# Copies what the demo page loads besides the wasm build into the wasm build's web-dist/ (served as the page's dist/) (the web
# build output, gitignored), at build time of varscope_web:
#   - uPlot (npm `uplot`, the loss / accuracy plots): dist/uPlot.esm.js + uPlot.min.css -> the wasm build's web-dist/ (served as the page's dist/)uplot/
#   - the committed trained date models models/dates.json and models/dates-attention.json (SRC_MODEL, SRC_MODEL_ATTENTION)
#     -> the wasm build's web-dist/ (served as the page's dist/)models/
# Missing uPlot is an error naming the fix (the page cannot plot without it).
# Playground mode (-DPLAYGROUND=ON, issue 24; a separate custom command, so editing web/python re-runs it):
#   - Pyodide (npm `pyodide`, SRC_PYODIDE): the five files a page loads -> DEST/pyodide/
#   - the playground's Python packages (SRC_PYTHON = web/python: the tensorflow shim, numpy-mini,
#     _playground.py), every .py file -> DEST/python.zip (unpacked by web/playground-worker.js)
if(PLAYGROUND)
  set(_pyodide_files pyodide.mjs pyodide.asm.mjs pyodide.asm.wasm python_stdlib.zip pyodide-lock.json)
  foreach(f ${_pyodide_files})
    if(NOT EXISTS ${SRC_PYODIDE}/${f})
      message(FATAL_ERROR "${SRC_PYODIDE}/${f} is missing: run `npm ci` (pyodide is in package.json)")
    endif()
    file(COPY ${SRC_PYODIDE}/${f} DESTINATION ${DEST}/pyodide)
  endforeach()
  file(GLOB_RECURSE _py RELATIVE ${SRC_PYTHON} ${SRC_PYTHON}/*.py)
  list(SORT _py)
  if(NOT _py)
    message(FATAL_ERROR "no .py files under ${SRC_PYTHON}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar cf ${DEST}/python.zip.tmp --format=zip ${_py}
                  WORKING_DIRECTORY ${SRC_PYTHON} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "zipping ${SRC_PYTHON} failed: ${_rc}")
  endif()
  file(RENAME ${DEST}/python.zip.tmp ${DEST}/python.zip)
  return()
endif()

foreach(f ${SRC_UPLOT}/uPlot.esm.js ${SRC_UPLOT}/uPlot.min.css ${SRC_MODEL} ${SRC_MODEL_ATTENTION})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "${f} is missing: run `npm ci` (uplot is in package.json) / keep models/dates.json and models/dates-attention.json")
  endif()
endforeach()
file(MAKE_DIRECTORY ${DEST}/uplot ${DEST}/models)
file(COPY ${SRC_UPLOT}/uPlot.esm.js ${SRC_UPLOT}/uPlot.min.css DESTINATION ${DEST}/uplot)
file(COPY ${SRC_MODEL} ${SRC_MODEL_ATTENTION} DESTINATION ${DEST}/models)
