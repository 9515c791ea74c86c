# Protobuf wire analysis without a schema, and field names from a descriptor
# set (issue 4): the static library grpcscope_wire_profile, which
# grpcscope_core links, and its unit test wire_profile_test.
#
# Include from the top-level CMakeLists.txt before add_subdirectory(src):
#   include(cmake/wire_profile.cmake)
# and in src/CMakeLists.txt:
#   target_link_libraries(grpcscope_core PUBLIC grpcscope_wire_profile)
include_guard(GLOBAL)

find_package(Protobuf REQUIRED)        # CMake's FindProtobuf: protobuf::libprotobuf, protobuf::protoc
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3 REQUIRED)

# The sources of the library (for reference; link the library rather than
# adding these to grpcscope_core a second time).
set(GRPCSCOPE_WIRE_PROFILE_SOURCES
  ${PROJECT_SOURCE_DIR}/src/analysis/wire_profile.cc
  ${PROJECT_SOURCE_DIR}/src/analysis/descriptor_names.cc)
set(GRPCSCOPE_WIRE_PROFILE_LIBRARIES protobuf::libprotobuf ZLIB::ZLIB nlohmann_json::nlohmann_json)

add_library(grpcscope_wire_profile STATIC ${GRPCSCOPE_WIRE_PROFILE_SOURCES})
target_include_directories(grpcscope_wire_profile PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(grpcscope_wire_profile PUBLIC ${GRPCSCOPE_WIRE_PROFILE_LIBRARIES})
target_compile_options(grpcscope_wire_profile PRIVATE -Wall -Wextra -Wno-unused-parameter)

if(GRPCSCOPE_BUILD_TESTS)
  # Idempotent; the top level enables testing again later. Needed here
  # because this file is included before the top level reaches enable_testing().
  enable_testing()
  find_package(GTest REQUIRED)
  include(GoogleTest)

  # The test schema, compiled to C++ (to encode messages with libprotobuf)
  # and to a descriptor set with its imports (to test DescriptorNames).
  set(_wp_proto ${PROJECT_SOURCE_DIR}/test/unit/wire_test.proto)
  set(_wp_gen ${PROJECT_BINARY_DIR}/generated/wire_profile)
  file(MAKE_DIRECTORY ${_wp_gen})
  add_custom_command(
    OUTPUT ${_wp_gen}/wire_test.pb.cc ${_wp_gen}/wire_test.pb.h ${_wp_gen}/wire_test.desc
    COMMAND protobuf::protoc
      --proto_path=${PROJECT_SOURCE_DIR}/test/unit
      --proto_path=${Protobuf_INCLUDE_DIRS}
      --cpp_out=${_wp_gen}
      --descriptor_set_out=${_wp_gen}/wire_test.desc
      --include_imports
      ${_wp_proto}
    DEPENDS ${_wp_proto} protobuf::protoc
    COMMENT "protoc: wire_test.proto (C++ and descriptor set)"
    VERBATIM)

  add_executable(wire_profile_test
    ${PROJECT_SOURCE_DIR}/test/unit/wire_profile_test.cc
    ${_wp_gen}/wire_test.pb.cc)
  target_include_directories(wire_profile_test PRIVATE ${_wp_gen})
  target_link_libraries(wire_profile_test PRIVATE grpcscope_wire_profile GTest::gtest_main)
  target_compile_definitions(wire_profile_test PRIVATE
    GRPCSCOPE_WIRE_TEST_DESCRIPTOR_SET="${_wp_gen}/wire_test.desc")
  set_target_properties(wire_profile_test PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/test/unit)
  gtest_discover_tests(wire_profile_test PROPERTIES TIMEOUT 120)
endif()
