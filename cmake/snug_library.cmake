# One static library per folder of src/, with one-way dependencies enforced by include paths:
# a library's public include root holds only a link to its own folder, so a header of a folder
# that is not among a target's DEPS cannot be found and a wrong include fails the build.
function(snug_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;EXTRA_SOURCES" ${ARGN})
  set(root ${CMAKE_BINARY_DIR}/include/${name})
  file(MAKE_DIRECTORY ${root})
  if(NOT EXISTS ${root}/${name})
    file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${root}/${name} SYMBOLIC)
  endif()
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  add_library(snug_${name} STATIC ${sources} ${ARG_EXTRA_SOURCES})
  target_include_directories(snug_${name} PUBLIC ${root})
  foreach(dep IN LISTS ARG_DEPS)
    if(TARGET snug_${dep})
      target_link_libraries(snug_${name} PUBLIC snug_${dep})
    else()
      target_link_libraries(snug_${name} PUBLIC ${dep})
    endif()
  endforeach()
endfunction()

# A gtest binary registered with CTest. LABELS (e.g. slow) keep long suites out of the default run.
function(snug_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
