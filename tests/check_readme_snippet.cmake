# tests/check_readme_snippet.cmake (cmake -P, run by the build): writes README.md's code
# block between `<!-- snippet: NAME -->` and `<!-- end snippet -->` (inside a ```cpp fence)
# to OUTPUT, only when it changed (an edit elsewhere in README rebuilds nothing). The build
# compiles OUTPUT, so README's Training block is the source of the training_example test,
# not a copy of it. A missing, unclosed or duplicated marker fails the build with the fix.
foreach(var README NAME OUTPUT)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_readme_snippet.cmake: -D${var}=... is required")
  endif()
endforeach()
file(READ "${README}" readme)
set(begin "<!-- snippet: ${NAME} -->\n```cpp\n")
set(end "```\n<!-- end snippet -->")
string(FIND "${readme}" "${begin}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "readme_snippet: ${README} has no block starting with\n${begin}"
                      "Keep the marker line `<!-- snippet: ${NAME} -->` right above the ```cpp fence.")
endif()
string(LENGTH "${begin}" begin_length)
math(EXPR from "${at} + ${begin_length}")
string(SUBSTRING "${readme}" ${from} -1 rest)
string(FIND "${rest}" "${end}" stop)
if(stop EQUAL -1)
  message(FATAL_ERROR "readme_snippet: the block for ${NAME} in ${README} has no closing fence followed by "
                      "`<!-- end snippet -->`")
endif()
string(SUBSTRING "${rest}" 0 ${stop} block)
string(FIND "${rest}" "<!-- snippet: ${NAME} -->" again)
if(NOT again EQUAL -1)
  message(FATAL_ERROR "readme_snippet: ${README} has two blocks marked `<!-- snippet: ${NAME} -->`; keep one")
endif()

set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL block)
  file(WRITE "${OUTPUT}" "${block}")
endif()
