# gander_build_info: a tiny static library that says what this build carries, for
# `gander --version` (and any tool that wants it). The CUDA architectures come from
# CMAKE_CUDA_ARCHITECTURES as configured: "75-real" is a kernel for sm_75 (SASS), "120-virtual"
# is PTX for compute_120 that the driver compiles for newer cards, a plain "90" is both.
set(sass)
set(ptx)
if(GANDER_HAVE_CUDA)
  foreach(arch IN LISTS CMAKE_CUDA_ARCHITECTURES)
    if(arch MATCHES "^([0-9]+[af]?)-real$")
      list(APPEND sass "sm_${CMAKE_MATCH_1}")
    elseif(arch MATCHES "^([0-9]+[af]?)-virtual$")
      list(APPEND ptx "compute_${CMAKE_MATCH_1}")
    elseif(arch MATCHES "^([0-9]+[af]?)$")
      list(APPEND sass "sm_${CMAKE_MATCH_1}")
      list(APPEND ptx "compute_${CMAKE_MATCH_1}")
    else() # native, all, all-major: CMake resolves these itself
      list(APPEND sass "${arch}")
    endif()
  endforeach()
  list(JOIN sass " " GANDER_CUDA_SASS)
  list(JOIN ptx " " GANDER_CUDA_PTX)
  set(GANDER_CUDA_ARCHS_TEXT "CUDA kernels for ${GANDER_CUDA_SASS}")
  if(ptx)
    string(APPEND GANDER_CUDA_ARCHS_TEXT ", PTX for ${GANDER_CUDA_PTX}")
  endif()
  string(APPEND GANDER_CUDA_ARCHS_TEXT " (CUDA ${CUDAToolkit_VERSION})")
else()
  set(GANDER_CUDA_SASS "")
  set(GANDER_CUDA_PTX "")
  set(GANDER_CUDA_ARCHS_TEXT "no CUDA (CPU only)")
endif()
message(STATUS "Gander: ${GANDER_CUDA_ARCHS_TEXT}")

configure_file(${CMAKE_CURRENT_SOURCE_DIR}/build_info.cpp.in
               ${CMAKE_CURRENT_BINARY_DIR}/build_info.cpp @ONLY)
add_library(gander_build_info STATIC ${CMAKE_CURRENT_BINARY_DIR}/build_info.cpp
                                     ${CMAKE_CURRENT_SOURCE_DIR}/build_info.h)
target_include_directories(gander_build_info PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
set_target_properties(gander_build_info PROPERTIES POSITION_INDEPENDENT_CODE ON)
