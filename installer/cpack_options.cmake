# Read by cpack for each generator (CPACK_PROJECT_CONFIG_FILE): settings that differ by generator.
if(CPACK_GENERATOR STREQUAL "TGZ")
  # The archive unpacks to gander-0.1.0-Linux/{bin,lib,share}: no /usr inside.
  set(CPACK_PACKAGING_INSTALL_PREFIX "")
  set(CPACK_SET_DESTDIR OFF)
endif()
