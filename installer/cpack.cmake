# CPack: `cpack -G DEB` and `cpack -G TGZ` from the build folder (or `ninja package`).
# The .deb's dependencies are computed by dpkg-shlibdeps from the installed binaries; only what
# Qt loads at run time as a plugin is named by hand, since no binary links it: the SQLite driver
# (libqt6sql6-sqlite) and the SVG icon engine and image format (libqt6svg6; the window's icon
# is an SVG).
set(CPACK_PACKAGE_NAME gander)
set(CPACK_PACKAGE_VENDOR "The Gander developers")
# The address the project's commits carry; a release sets its own with -DGANDER_PACKAGE_CONTACT.
set(GANDER_PACKAGE_CONTACT
    "Gander maintainers <maintainers@users.noreply.r-seed-0713ca64.example>" CACHE STRING
    "Maintainer of the .deb (name <address>), also the changelog's signer")
set(CPACK_PACKAGE_CONTACT "${GANDER_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "offline assistant running RWKV-7 language models")
# Lines under 80 characters (lintian): CPack indents each by one space in the control file.
set(CPACK_PACKAGE_DESCRIPTION
    "Gander is a private, offline assistant: a Qt desktop application that runs
RWKV-7 language models on the computer's own NVIDIA card (CUDA), or on the
processor when no card is usable, and keeps the conversations, and the
model's state of each, in SQLite on the computer. The package also carries
gander-cli, gander-quantize and gander-bench, the engine's terminal tools,
and gander-server, an OpenAI-compatible API on 127.0.0.1.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_INSTALL_DIRECTORY Gander)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build[^/]*/" "/\\\\.git/")
if(WIN32)
  include(${CMAKE_CURRENT_SOURCE_DIR}/windows/nsis.cmake) # written, not built: see the file
  include(CPack)
  return()
endif()
set(CPACK_GENERATOR DEB TGZ)
# The .deb installs under /usr; the .tar.gz is relocatable (RPATH $ORIGIN/../lib/gander/cuda).
# Compression stays gzip: Debian 12's lintian rejects a zstd data member, and xz is minutes slower
# on cuBLAS's 570 MB.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_SOURCE_DIR}/cpack_options.cmake)

# A native package (no Debian revision): its changelog is installer/linux/changelog.in.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # gander_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(GANDER_HAVE_CUDA)
  # cuBLAS is in the package itself: dpkg-shlibdeps (run in the staging folder) finds it there,
  # by this path or by the programs' RPATH, and asks no other package for it.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "usr/${GANDER_PRIVATE_LIBDIR}")
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nvidia-driver")
endif()
if(TARGET gander)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libqt6sql6-sqlite, libqt6svg6")
  # qt6-wayland: a native window on Wayland (without it Qt runs through XWayland).
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "hicolor-icon-theme, qt6-wayland")
endif()

# Debian wants a copyright file and a changelog in /usr/share/doc/gander (lintian checks both).
set(doc_dir ${CMAKE_CURRENT_BINARY_DIR}/doc)
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/linux/changelog.in ${doc_dir}/changelog @ONLY)
add_custom_command(OUTPUT ${doc_dir}/changelog.gz
  COMMAND gzip -9n -c ${doc_dir}/changelog > ${doc_dir}/changelog.gz
  DEPENDS ${doc_dir}/changelog)
add_custom_target(gander_package_docs ALL DEPENDS ${doc_dir}/changelog.gz)
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/linux/copyright ${doc_dir}/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/gander)

include(CPack)
