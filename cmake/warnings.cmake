# Warnings every fathom target compiles with (clean under -Wall -Wextra is a project rule).
add_library(fathom_warnings INTERFACE)
target_compile_options(fathom_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local
                       -Wnon-virtual-dtor -Wno-missing-field-initializers)

# fathom_library(NAME SOURCES... DEPS ...): one layer = one static library under src/.
function(fathom_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE fathom_warnings)
endfunction()
