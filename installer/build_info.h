// What this build of Gander carries, for `--version` output. Generated values
// (installer/build_info.cpp.in, filled in by installer/build_info.cmake); thread-safe, constant.
#pragma once

// "0.1.0"
const char* gander_version();
// Real (SASS) CUDA architectures compiled in, space-separated: "sm_75 sm_80 ... sm_120";
// empty in a build without CUDA.
const char* gander_cuda_architectures();
// PTX kept for newer cards, space-separated: "compute_120"; empty when none.
const char* gander_cuda_ptx();
// One line for --version: "0.1.0, CUDA kernels for sm_75 ... sm_120, PTX for compute_120
// (CUDA 13.0.88)" or "0.1.0, no CUDA (CPU only)".
const char* gander_version_line();
