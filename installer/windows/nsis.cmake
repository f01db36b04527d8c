# Windows packaging: an NSIS installer (and a .zip) from CPack, with the Qt run-time deployed
# next to the programs and, in a CUDA build, cuBLAS's DLLs beside them (Windows finds DLLs in
# the program's folder; it has no RPATH).
#
# WRITTEN AND REVIEWED, NOT BUILT: Gander's build machines run Debian; nobody has configured
# this file on Windows yet. docs/install.md lists what the Windows build still needs.
#
# Needs on the build machine: Visual Studio 2022 (or clang-cl), Qt 6.5 or newer for MSVC
# (qt_generate_deploy_app_script), NSIS 3 (makensis on the PATH), the CUDA toolkit for a CUDA
# build. Then: cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build
#       && cd build && cpack -G NSIS

# ---- Qt's DLLs and plugins (platforms/qwindows, sqldrivers/qsqlite, imageformats/qsvg, ...) ---
foreach(program IN ITEMS gander gander-server)
  if(TARGET ${program})
    if(COMMAND qt_generate_deploy_app_script)
      qt_generate_deploy_app_script(TARGET ${program} OUTPUT_SCRIPT deploy_${program}
                                    NO_UNSUPPORTED_PLATFORM_ERROR)
      install(SCRIPT ${deploy_${program}})
    else()
      message(WARNING "installer: Qt ${Qt6_VERSION} has no qt_generate_deploy_app_script; "
                      "run windeployqt on ${program}.exe in the install folder by hand")
    endif()
  endif()
endforeach()

# ---- cuBLAS (CUDA 12 and older keep the DLLs in bin/, CUDA 13 in bin/x64/) -------------------
if(GANDER_HAVE_CUDA)
  file(GLOB cublas_dlls "${CUDAToolkit_BIN_DIR}/cublas64_*.dll"
                        "${CUDAToolkit_BIN_DIR}/cublasLt64_*.dll"
                        "${CUDAToolkit_BIN_DIR}/x64/cublas64_*.dll"
                        "${CUDAToolkit_BIN_DIR}/x64/cublasLt64_*.dll")
  if(NOT cublas_dlls)
    message(FATAL_ERROR "installer: no cublas64_*.dll under ${CUDAToolkit_BIN_DIR}")
  endif()
  install(FILES ${cublas_dlls} DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The icon of the installer and of the uninstaller entry: an .ico drawn from the SVG at build
# time would need a tool Windows lacks by default, so the installer uses NSIS's own unless
# GANDER_WINDOWS_ICON names an .ico.
set(GANDER_WINDOWS_ICON "" CACHE FILEPATH "gander.ico for the Windows installer (optional)")

set(CPACK_GENERATOR NSIS ZIP)
set(CPACK_PACKAGE_INSTALL_REGISTRY_KEY Gander)
set(CPACK_NSIS_PACKAGE_NAME "Gander ${PROJECT_VERSION}")
set(CPACK_NSIS_DISPLAY_NAME "Gander")
set(CPACK_NSIS_INSTALL_ROOT "$PROGRAMFILES64")
set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
set(CPACK_NSIS_MODIFY_PATH ON) # offers to put gander-cli, gander-quantize on the PATH
set(CPACK_NSIS_EXECUTABLES_DIRECTORY ${CMAKE_INSTALL_BINDIR})
set(CPACK_PACKAGE_EXECUTABLES gander Gander) # Start menu entry
set(CPACK_NSIS_INSTALLED_ICON_NAME "${CMAKE_INSTALL_BINDIR}\\\\gander.exe")
set(CPACK_NSIS_MANIFEST_DPI_AWARE ON)
if(GANDER_WINDOWS_ICON)
  set(CPACK_NSIS_MUI_ICON ${GANDER_WINDOWS_ICON})
  set(CPACK_NSIS_MUI_UNIICON ${GANDER_WINDOWS_ICON})
endif()
# The uninstaller removes what it installed; the chat history (%APPDATA%\Gander) is the user's
# and stays, as on Linux.
